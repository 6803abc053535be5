/**
 * Resolution of a device's credential reference (`env:NAME` or `file:PATH`) on the worker.
 * Only the reference travels through Temporal; the secret is read here, just before a push,
 * and never appears in a message, a log or a failure.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** A credential reference that cannot be resolved on this worker. The message never holds the secret. */
export class CredentialError extends Error {
  readonly code = 'ERR_CREDENTIAL_UNAVAILABLE';
  override readonly name = 'CredentialError';

  constructor(
    /** The reference, e.g. `env:DEVICE_TOKEN` (never the secret). */
    readonly reference: string,
    message: string,
  ) {
    super(message);
  }
}

// A bearer token goes into a header: visible ASCII only, so it cannot split the request.
const TOKEN_VALUE_RE = /^[\x21-\x7e]+$/;

/**
 * The secret a reference names: the environment variable's value, or the file's content with
 * surrounding whitespace trimmed (a relative path is taken from the worker's directory).
 * Throws `CredentialError` when it is missing, empty or not a valid header value.
 */
export async function resolveCredential(
  reference: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  let secret: string;
  if (reference.startsWith('env:')) {
    const name = reference.slice(4);
    secret = (env[name] ?? '').trim();
    if (secret === '') {
      throw new CredentialError(
        reference,
        `credential ${reference} is not set on this worker — set the environment variable ${name} for the worker`,
      );
    }
  } else if (reference.startsWith('file:')) {
    const path = resolve(reference.slice(5));
    try {
      secret = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read error';
      throw new CredentialError(
        reference,
        `credential ${reference} cannot be read on this worker (${code}) — make ${path} readable by the worker`,
      );
    }
    if (secret === '') {
      throw new CredentialError(reference, `credential ${reference} is empty — put the token in ${path}`);
    }
  } else {
    // Not a reference, so perhaps a literal secret: neither kept nor echoed.
    throw new CredentialError(
      '(not a reference)',
      'credential reference must be env:NAME or file:PATH — fix the "token" field of the fleet file',
    );
  }
  if (!TOKEN_VALUE_RE.test(secret)) {
    throw new CredentialError(
      reference,
      `credential ${reference} holds spaces or control characters, which a bearer token cannot — store the bare token`,
    );
  }
  return secret;
}
