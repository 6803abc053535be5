/**
 * SHA-256 helpers. Fleet files are identified by hex digests, artifacts by base64 ones (the
 * form an RFC 9530 `content-digest` header carries). Files are hashed as streams, never read
 * whole, so a 100 MB artifact costs 64 KiB of memory.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** How a digest is written. */
export type DigestEncoding = 'hex' | 'base64';

/** SHA-256 of a string (UTF-8) or bytes. */
export function sha256Of(data: string | Uint8Array, encoding: DigestEncoding = 'hex'): string {
  return createHash('sha256').update(data).digest(encoding);
}

/** SHA-256 of everything a stream yields. */
export async function sha256Stream(
  stream: AsyncIterable<Uint8Array | string>,
  encoding: DigestEncoding = 'hex',
): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest(encoding);
}

/** SHA-256 of a file, streamed. Rejects with the fs error (e.g. ENOENT) if it cannot be read. */
export function sha256File(path: string, encoding: DigestEncoding = 'hex'): Promise<string> {
  return sha256Stream(createReadStream(path), encoding);
}

/** `content-digest` header value (RFC 9530) for a base64 SHA-256. */
export function contentDigest(sha256Base64: string): string {
  return `sha-256=:${sha256Base64}:`;
}

/** The bytes streamed through a `DigestVerifier` are not the expected ones. */
export class DigestMismatchError extends Error {
  readonly code = 'ERR_DIGEST_MISMATCH';
  override readonly name = 'DigestMismatchError';
}

/** What a `DigestVerifier` expects to see. */
export interface DigestVerifierOptions {
  /** Exact byte count. */
  size: number;
  /** SHA-256, base64. */
  sha256: string;
}

/**
 * A pass-through that hashes and counts the bytes and fails with `DigestMismatchError` when
 * they are not the expected ones. It holds back the latest chunk until the next arrives, and
 * releases the final one only after the digest matched: a reader (an HTTP device) therefore
 * never receives a complete body whose bytes are wrong, only a truncated one.
 */
export class DigestVerifier extends Transform {
  /** Bytes passed through so far (handed downstream). */
  bytesOut = 0;
  /** Bytes read from upstream so far. */
  bytesIn = 0;
  /** The mismatch, once detected. */
  mismatch: DigestMismatchError | undefined;
  readonly #hash: Hash = createHash('sha256');
  #pending: Buffer | undefined;

  constructor(readonly expected: DigestVerifierOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytesIn += chunk.length;
    if (this.bytesIn > this.expected.size) {
      return done(this.#fail(`more than the expected ${this.expected.size} bytes`));
    }
    this.#hash.update(chunk);
    this.#release();
    this.#pending = chunk;
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.bytesIn !== this.expected.size) {
      return done(this.#fail(`${this.bytesIn} bytes, expected ${this.expected.size}`));
    }
    const actual = this.#hash.digest('base64');
    if (actual !== this.expected.sha256) {
      return done(this.#fail(`sha-256 ${actual}, expected ${this.expected.sha256}`));
    }
    this.#release();
    done();
  }

  #release(): void {
    if (this.#pending === undefined) return;
    this.bytesOut += this.#pending.length;
    this.push(this.#pending);
    this.#pending = undefined;
  }

  #fail(what: string): DigestMismatchError {
    this.#pending = undefined;
    this.mismatch = new DigestMismatchError(`content does not match its digest: ${what}`);
    return this.mismatch;
  }
}
