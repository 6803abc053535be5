/**
 * Outcome classification of one push attempt: an HTTP status or a network error becomes a
 * failure type from the failure table and a retryable/permanent verdict. Pure functions, so
 * the table is unit-tested exhaustively; `push.ts` turns the verdict into an ApplicationFailure.
 */
import { STATUS_CODES } from 'node:http';
import { FailureType } from '../shared/failure-types.js';

/** A failed attempt's verdict. */
export interface Classification {
  type: FailureType;
  /** True where no retry can help (the policy then stops at once). */
  nonRetryable: boolean;
  /** What happened, for the failure message (without the device id). */
  message: string;
}

/** Response body read at most (the rest is discarded with the connection). */
export const RESPONSE_BODY_LIMIT = 64 * 1024; // 64 KiB
/** A device's `Retry-After` is honoured up to this delay. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000; // 1 h

/** `HTTP 404 Not Found`. */
export function describeStatus(status: number): string {
  const text = STATUS_CODES[status];
  return text === undefined ? `HTTP ${status}` : `HTTP ${status} ${text}`;
}

/** The verdict for an HTTP status, or `undefined` for a 2xx success. */
export function classifyStatus(status: number): Classification | undefined {
  const message = describeStatus(status);
  if (status >= 200 && status <= 299) return undefined;
  if (status >= 300 && status <= 399) return { type: FailureType.HttpRedirect, nonRetryable: true, message };
  if (status === 408 || status === 409 || status === 425) {
    return { type: FailureType.HttpRetryableStatus, nonRetryable: false, message };
  }
  if (status === 429) return { type: FailureType.HttpRateLimited, nonRetryable: false, message };
  if (status >= 400 && status <= 499)
    return { type: FailureType.HttpClientError, nonRetryable: true, message };
  if (status >= 500 && status <= 599)
    return { type: FailureType.HttpServerError, nonRetryable: false, message };
  return {
    type: FailureType.MalformedResponse,
    nonRetryable: false,
    message: `${message} (not a final status)`,
  };
}

/**
 * The delay a `Retry-After` header asks for, in ms (capped at 1 h; 0 for a date in the past),
 * or `undefined` when absent or unparseable. Accepts delta-seconds and the three HTTP-date forms.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (raw === undefined || raw === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
  else if (/^[A-Za-z]{3,9}, [\d]{2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$/.test(raw)) {
    ms = Date.parse(raw) - nowMs; // IMF-fixdate or RFC 850
  } else if (/^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(raw)) {
    ms = Date.parse(`${raw} GMT`) - nowMs; // asctime, always GMT
  } else return undefined;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The next retry delay a response asks for: `Retry-After` on 429 and 503 only, else `undefined`. */
export function retryDelayOf(
  status: number,
  retryAfter: string | readonly string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  return status === 429 || status === 503 ? parseRetryAfter(retryAfter, nowMs) : undefined;
}

const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'TimeoutError',
  'ETIMEDOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);
const MALFORMED_CODES = new Set([
  'HTTPParserError', // undici leaves its `code` undefined for some parse failures (e.g. no status line)
  'UND_ERR_RESPONSE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'ERR_INVALID_HTTP_RESPONSE',
]);

/** What an error code means, and what fixes it when a person must act. */
interface Meaning {
  what: string;
  fix?: string;
}

/**
 * Certificate errors and what fixes each. Node names OpenSSL's verification errors by their
 * X509_V_ERR name (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`…), its own host check
 * `ERR_TLS_CERT_ALTNAME_INVALID`, and an alert the device sent `ERR_SSL_<VERSION>_ALERT_<NAME>`.
 */
const CERTIFICATE_ERRORS: ReadonlyArray<Meaning & { match: RegExp }> = [
  {
    match: /^ERR_SSL_\w+_ALERT_CERTIFICATE_REQUIRED$/,
    what: 'the device requires a client certificate and the worker has none',
    fix: 'set PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE',
  },
  {
    match:
      /^ERR_SSL_\w+_ALERT_(BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_\w+|UNKNOWN_CA|ACCESS_DENIED)$/,
    what: "the device refused the worker's client certificate",
    fix: 'give the workers one it trusts (PUSH_CLIENT_CERT_FILE, PUSH_CLIENT_KEY_FILE)',
  },
  {
    match: /^(ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|IP_ADDRESS_MISMATCH)$/,
    what: "the device's certificate does not name the host of its URL",
    fix: 'use a host it names in the fleet file, or reissue it',
  },
  {
    match: /^(CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERROR_IN_CERT_NOT_(BEFORE|AFTER)_FIELD)$/,
    what: "the device's certificate has expired or is not valid yet",
    fix: "renew it (or fix the worker's clock)",
  },
  {
    match:
      /^(UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT(_LOCALLY)?|DECRYPT_CERT_SIGNATURE|DECODE_ISSUER_PUBLIC_KEY)|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_UNTRUSTED|INVALID_CA)$/,
    what: "the device's certificate is not signed by a CA the worker trusts",
    fix: 'add that CA to PUSH_CA_FILE',
  },
  {
    match: /^(CERT_\w+|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)$/,
    what: "the device's certificate was rejected",
    fix: 'check it and its chain',
  },
];

/** Rules in precedence order: the first that matches any error of the cause chain wins. */
const RULES: ReadonlyArray<{
  match: (code: string) => Meaning | undefined;
  type: FailureType;
  permanent?: true;
}> = [
  {
    match: (c) => CERTIFICATE_ERRORS.find((e) => e.match.test(c)),
    type: FailureType.TlsCertificateError,
    permanent: true,
  },
  {
    match: (c) => when(MALFORMED_CODES.has(c) || c.startsWith('HPE_'), 'malformed response'),
    type: FailureType.MalformedResponse,
  },
  { match: (c) => when(TIMEOUT_CODES.has(c), 'attempt timed out'), type: FailureType.AttemptTimeout },
  {
    // Anything else TLS reports (no shared protocol version or cipher, plain HTTP on an https
    // URL) is a mismatch of configurations: the next attempt would meet the same one.
    match: (c) => when(c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_'), 'TLS error'),
    type: FailureType.NetworkError,
    permanent: true,
  },
  { match: (c) => when(c === 'ECONNREFUSED', 'connection refused'), type: FailureType.ConnectionRefused },
  { match: (c) => when(RESET_CODES.has(c), 'connection reset'), type: FailureType.ConnectionReset },
];

function when(matches: boolean, what: string): Meaning | undefined {
  return matches ? { what } : undefined;
}

/** The verdict for an error thrown by an attempt (undici, socket, TLS), its `cause` chain included. */
export function classifyError(err: unknown): Classification {
  const chain = errorChain(err);
  for (const rule of RULES) {
    for (const link of chain) {
      const meaning = rule.match(link.code);
      if (meaning === undefined) continue;
      // The fix before the detail: reports keep the first 200 characters of a message.
      const fix = meaning.fix === undefined ? '' : ` — ${meaning.fix}`;
      const message = `${meaning.what}${fix} (${detail(link)})`;
      return {
        type: rule.type,
        nonRetryable: rule.permanent === true,
        message:
          rule.type === FailureType.TlsCertificateError ? `TLS certificate error: ${message}` : message,
      };
    }
  }
  const first = chain[0];
  return {
    type: FailureType.NetworkError,
    nonRetryable: false,
    message: `network error (${first === undefined ? String(err) : detail(first)})`,
  };
}

interface ChainLink {
  code: string;
  message: string;
}

/**
 * The errors of `err`, its `cause`s and an AggregateError's `errors` (a connection to a name with
 * several addresses fails with one error per address), each with its `code` (or `name`).
 */
export function errorChain(err: unknown): ChainLink[] {
  const links: ChainLink[] = [];
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0 && links.length < 16) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const { code, name, message, cause, errors } = e as Record<string, unknown>;
    const label = typeof code === 'string' ? code : typeof name === 'string' && name !== 'Error' ? name : '';
    links.push({ code: label, message: typeof message === 'string' ? message : '' });
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return links;
}

function detail(link: ChainLink): string {
  // An alert's code says all its OpenSSL line does (`ERR_SSL_TLSV1_ALERT_UNKNOWN_CA`).
  if (/^ERR_SSL_\w+_ALERT_/.test(link.code)) return link.code;
  const message = opensslReason(link.message);
  if (link.code === '' || message.includes(link.code)) return message || link.code;
  return message === '' ? link.code : `${link.code}: ${message}`;
}

/**
 * OpenSSL's reason out of its error line: `80EC…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13
 * alert certificate required:../deps/…:1605:SSL alert number 116` → `tlsv13 alert certificate
 * required (SSL alert number 116)`. Other messages are returned trimmed.
 */
export function opensslReason(message: string): string {
  const match = /:SSL routines:[^:]*:([^:]+):.*?(SSL alert number \d+)?\s*$/s.exec(message);
  if (match === null) return message.trim();
  return match[2] === undefined ? match[1]!.trim() : `${match[1]!.trim()} (${match[2]})`;
}
