/**
 * Validation of one fleet record (a parsed NDJSON/JSON object or a CSV row) into a
 * `DeviceTarget`. Pure: no I/O, used by the client and by the worker alike.
 */
import type { DeviceTarget } from './types.js';

/** Fields a fleet record may carry; anything else is rejected (typo protection). */
export const FLEET_FIELDS = ['id', 'url', 'priority', 'group', 'token', 'headers', 'statusUrl'] as const;

/**
 * Headers the engine sets on every push (or that the HTTP client manages); a fleet file may
 * not override them, or it could break the digest, the idempotency key or the credential.
 */
export const RESERVED_HEADERS: readonly string[] = [
  'authorization',
  'content-*',
  'idempotency-key',
  'x-rollout-id',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-authorization',
];

/** What validating one record yields: the id when it is usable (for duplicate checks), and the device when all is valid. */
export interface RecordResult {
  id: string | undefined;
  device: DeviceTarget | undefined;
}

/** Problems found in one record (reason — fix, without file or line). */
type Problems = string[];

const FIELD_SET: ReadonlySet<string> = new Set(FLEET_FIELDS);
const TOKEN_RE = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/;
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII plus Latin-1 (obs-text) and tab: what an HTTP/1.1 header value may carry.
const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
// The id travels in the idempotency-key header, so it must be a valid header value too.
const ID_RE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * Checks one record, appending each problem (reason and fix, without file or line) to
 * `problems`; `fromCsv` makes `priority` accepted as a decimal string. No closure is made per
 * record: a million-line fleet goes through here.
 */
export function toDevice(record: Record<string, unknown>, problems: Problems, fromCsv = false): RecordResult {
  const before = problems.length;
  for (const key in record) if (!FIELD_SET.has(key)) problems.push(unknownField(key));
  const id = checkId(record['id'], problems);
  const url = checkPushUrl(record['url'], problems);
  const statusUrl = checkStatusUrl(record['statusUrl'], problems);
  const priority = checkPriority(record['priority'], fromCsv, problems);
  const group = checkGroup(record['group'], problems);
  const token = checkToken(record['token'], problems);
  const headers = checkHeaders(record['headers'], problems);
  if (problems.length > before || id === undefined || url === undefined) return { id, device: undefined };
  const device: DeviceTarget = { id, url, priority };
  if (group !== undefined) device.group = group;
  if (token !== undefined) device.token = token;
  if (headers !== undefined) device.headers = headers;
  if (statusUrl !== undefined) device.statusUrl = statusUrl;
  return { id, device };
}

/** A short, JSON-ish rendering of a bad value for a message. */
export function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? typeof value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `did you mean "x"?` for a near miss among `known`, or ''. */
export function suggest(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  const best = known.find((k) => {
    const candidate = k.toLowerCase(); // `statusurl` is a near miss of `statusUrl`, not a stranger
    return editDistance(lower, candidate) <= 2 || (lower.length >= 3 && candidate.startsWith(lower));
  });
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function fail(problems: Problems, reason: string): undefined {
  problems.push(reason);
  return undefined;
}

function unknownField(key: string): string {
  return `unknown field ${show(key)}${suggest(key, FLEET_FIELDS)} — remove it or use one of: ${FLEET_FIELDS.join(', ')}`;
}

function checkId(value: unknown, problems: Problems): string | undefined {
  if (value === undefined || value === null)
    return fail(problems, 'missing "id" — give every device a unique id');
  if (typeof value !== 'string')
    return fail(problems, `"id" must be a string (got ${show(value)}) — quote the id`);
  if (/^\s*$/.test(value)) return fail(problems, '"id" is empty — give every device a unique id');
  if (!ID_RE.test(value)) {
    return fail(
      problems,
      `"id" ${show(value)} must be printable ASCII without surrounding spaces (it is sent in the idempotency-key header) — rename the device`,
    );
  }
  return value;
}

/** An http(s) address without user info: the push `url`, or the optional `statusUrl`. */
function checkUrl(field: 'url' | 'statusUrl', value: unknown, problems: Problems): string | undefined {
  if (typeof value !== 'string') {
    return fail(problems, `"${field}" must be a string (got ${show(value)}) — fix the URL`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(problems, `"${field}" is not a valid URL (got ${show(value)}) — fix the URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(problems, `"${field}" must be http or https (got ${show(value)}) — fix the URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Fleet fields end up in workflow history; a credential must stay a `token` reference.
    return fail(
      problems,
      `"${field}" must not contain a user name or password — use "token" with an env: or file: reference`,
    );
  }
  return value;
}

function checkPushUrl(value: unknown, problems: Problems): string | undefined {
  if (value === undefined || value === null || value === '') {
    return fail(problems, 'missing "url" — give the device\'s http or https address');
  }
  return checkUrl('url', value, problems);
}

function checkStatusUrl(value: unknown, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === '') {
    return fail(
      problems,
      '"statusUrl" is empty — give the http or https address where the device reports its version, or leave it out',
    );
  }
  return checkUrl('statusUrl', value, problems);
}

function checkPriority(value: unknown, fromCsv: boolean, problems: Problems): number {
  if (value === undefined || value === null) return 0;
  const n = fromCsv && typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  fail(
    problems,
    `"priority" must be an integer (got ${show(value)}) — use a whole number; higher goes first`,
  );
  return 0;
}

function checkGroup(value: unknown, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  return fail(
    problems,
    `"group" must be a non-empty string (got ${show(value)}) — name the group or leave it out`,
  );
}

function checkToken(value: unknown, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && TOKEN_RE.test(value)) return value;
  // Never echo the value: it may be the very secret that must not land in workflow history.
  return fail(
    problems,
    '"token" must be a reference env:NAME or file:PATH, not a literal secret — put the secret in an environment variable or a file on the workers and reference it',
  );
}

function checkHeaders(value: unknown, problems: Problems): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    return fail(
      problems,
      `"headers" must be an object of string values (got ${show(value)}) — e.g. {"x-site":"eu-1"}`,
    );
  }
  const headers: Record<string, string> = {};
  const seen = new Map<string, string>();
  let ok = true;
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const reason = headerProblem(name, v, seen.get(name.toLowerCase()));
    seen.set(name.toLowerCase(), name);
    if (reason !== undefined) {
      ok = false;
      problems.push(reason);
    } else headers[name] = v as string;
  }
  return ok ? headers : undefined;
}

function headerProblem(name: string, value: unknown, earlier: string | undefined): string | undefined {
  const lower = name.toLowerCase();
  if (!HEADER_NAME_RE.test(name)) {
    return `header name ${show(name)} is not a valid HTTP header name — use letters, digits and - only`;
  }
  if (lower === 'authorization' || lower === 'proxy-authorization') {
    return `header ${show(name)} is not allowed — use "token" with an env: or file: reference for credentials`;
  }
  if (RESERVED_HEADERS.includes(lower) || lower.startsWith('content-')) {
    return `header ${show(name)} is set by the engine — remove it`;
  }
  if (earlier !== undefined)
    return `header ${show(name)} is given twice (also as ${show(earlier)}) — keep one`;
  if (typeof value !== 'string')
    return `header ${show(name)} must be a string (got ${show(value)}) — quote the value`;
  if (!HEADER_VALUE_RE.test(value)) {
    return `header ${show(name)} contains a line break or control character — remove it`;
  }
  return undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
