import { createHash, type Hash } from 'node:crypto';

/**
 * The sha-256 value of an RFC 9530 `content-digest` header (`sha-256=:<base64>:`, possibly
 * beside other algorithms), or null when absent.
 */
export function sha256FromContentDigest(header: string | null): string | null {
  if (header === null) return null;
  for (const member of header.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim().toLowerCase() !== 'sha-256') continue;
    const value = member.slice(eq + 1).trim();
    if (value.length > 2 && value.startsWith(':') && value.endsWith(':')) return value.slice(1, -1);
  }
  return null;
}

/** Hashes and counts a request body chunk by chunk, never holding it whole. */
export class BodyMeter {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  /** Takes in one chunk. */
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }

  /** The body's sha-256, base64 (call once, at the end). */
  digest(): string {
    return this.hash.digest('base64');
  }
}
