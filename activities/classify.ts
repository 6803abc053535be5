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
]);
const MALFORMED_CODES = new Set([
  'HTTPParserError', // undici leaves its `code` undefined for some parse failures (e.g. no status line)
  'UND_ERR_RESPONSE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'ERR_INVALID_HTTP_RESPONSE',
]);
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Rules in precedence order: the first that matches any error of the cause chain wins. */
const RULES: ReadonlyArray<{
  match: (code: string) => boolean;
  type: FailureType;
  what: string;
  permanent?: true;
}> = [
  {
    match: (c) => TLS_CODES.has(c) || c.startsWith('CERT_') || c.startsWith('ERR_TLS_'),
    type: FailureType.NetworkError,
    what: 'TLS/certificate error',
    permanent: true,
  },
  {
    match: (c) => MALFORMED_CODES.has(c) || c.startsWith('HPE_'),
    type: FailureType.MalformedResponse,
    what: 'malformed response',
  },
  { match: (c) => TIMEOUT_CODES.has(c), type: FailureType.AttemptTimeout, what: 'attempt timed out' },
  { match: (c) => c === 'ECONNREFUSED', type: FailureType.ConnectionRefused, what: 'connection refused' },
  { match: (c) => RESET_CODES.has(c), type: FailureType.ConnectionReset, what: 'connection reset' },
];

/** The verdict for an error thrown by an attempt (undici, socket, TLS), its `cause` chain included. */
export function classifyError(err: unknown): Classification {
  const chain = errorChain(err);
  for (const rule of RULES) {
    const hit = chain.find((e) => rule.match(e.code));
    if (hit !== undefined) {
      return {
        type: rule.type,
        nonRetryable: rule.permanent === true,
        message: `${rule.what} (${detail(hit)})`,
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
  if (link.code === '' || link.message.includes(link.code)) return link.message || link.code;
  return link.message === '' ? link.code : `${link.code}: ${link.message}`;
}
