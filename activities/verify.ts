/**
 * Verified completion: after a device accepted the artifact (2xx), poll its status URL until
 * it reports the artifact's digest, so "succeeded" means "runs the new version", not merely
 * "received it". Polls use the worker's shared dispatcher; any answer other than the expected
 * digest (another digest, a non-2xx, a body that is not JSON, a network error) means "not yet".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { contentDigest } from '../shared/digest.js';
import type { DeviceTarget, PushInput } from '../shared/types.js';
import { RESPONSE_BODY_LIMIT, classifyError, describeStatus } from './classify.js';

/** One device's verification, resolved before its push starts. */
export interface VerifyTarget {
  /** The status URL polled. */
  url: string;
  /** `sha-256=:<base64>:` of the artifact: the report that confirms. */
  expected: string;
  /** From the 2xx to giving up, in ms. */
  timeoutMs: number;
  /** Delay between the end of one poll and the start of the next, in ms. */
  intervalMs: number;
  /** One poll at most (the attempt timeout), in ms. */
  pollTimeoutMs: number;
}

/** Progress of a verification, for heartbeats. */
export interface VerifyProgress {
  polls: number;
  /** What the device last answered, e.g. `HTTP 200 {"digest":null}` or `connection refused (…)`. */
  last: string;
}

/** How a verification ended (cancellation rejects instead). */
export interface VerifyOutcome extends VerifyProgress {
  confirmed: boolean;
  /** From the 2xx to the confirming answer or to giving up, in ms. */
  waitedMs: number;
}

/** Report text kept at most in a failure message. */
const REPORT_SNIPPET_CHARS = 200;
const NOTHING_YET = 'nothing (no poll finished before the deadline)';

/**
 * The verification of `input.device`, or undefined when it is not verified: no `verify` spec,
 * or neither a device `statusUrl` nor a template (`{id}` = the URL-encoded device id).
 * Throws `RangeError` for a spec or URL that cannot work, before anything is pushed.
 */
export function verifyTargetOf(input: PushInput): VerifyTarget | undefined {
  const { verify, device } = input;
  if (verify === undefined) return undefined;
  const url = device.statusUrl ?? verify.urlTemplate?.replaceAll('{id}', encodeURIComponent(device.id));
  if (url === undefined) return undefined;
  if (!/^https?:$/.test(safeUrl(url)?.protocol ?? '')) {
    throw new RangeError(
      `device ${device.id}: status URL ${url} is not an http(s) URL — fix the fleet file's statusUrl or the rollout's --verify template`,
    );
  }
  for (const name of ['timeoutMs', 'intervalMs'] as const) {
    const value = verify[name];
    if (!Number.isFinite(value) || value < 1) {
      throw new RangeError(`verify.${name} must be a number of ms ≥ 1 (got ${value})`);
    }
  }
  return {
    url,
    expected: contentDigest(input.artifact.sha256),
    timeoutMs: verify.timeoutMs,
    intervalMs: verify.intervalMs,
    pollTimeoutMs: input.attemptTimeoutMs,
  };
}

/**
 * Headers of a status poll. A poll to the origin the artifact went to carries the device's
 * headers and credential, as the push did; a poll elsewhere (a template may point at an
 * inventory service) carries neither: a device's credential goes only where its push goes.
 */
export function pollHeaders(
  device: DeviceTarget,
  statusUrl: string,
  token: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (safeUrl(statusUrl)?.origin === safeUrl(device.url)?.origin) {
    for (const [name, value] of Object.entries(device.headers ?? {})) {
      if (!/^(authorization|host|content-.*)$/i.test(name)) headers[name] = value;
    }
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  }
  headers['accept'] = 'application/json';
  return headers;
}

/**
 * Polls `target.url` at once, then `intervalMs` after each answer, until it reports
 * `target.expected` or `timeoutMs` has passed since the call (made right after the 2xx). The
 * deadline is hard: a poll still running then is cut short, so verification never outlasts
 * `timeoutMs` (the workflow sizes activity timeouts on it). Rejects only when `cancel` fires.
 */
export async function awaitConfirmation(
  dispatcher: Dispatcher,
  target: VerifyTarget,
  headers: Record<string, string>,
  cancel: AbortSignal,
  observe?: (progress: VerifyProgress) => void,
): Promise<VerifyOutcome> {
  const started = performance.now();
  const deadline = started + target.timeoutMs;
  const progress: VerifyProgress = { polls: 0, last: NOTHING_YET };
  const outcome = (confirmed: boolean): VerifyOutcome => ({
    ...progress,
    confirmed,
    waitedMs: Math.round(performance.now() - started),
  });
  for (let left = target.timeoutMs; left > 0; left = deadline - performance.now()) {
    const budget = Math.ceil(Math.min(target.pollTimeoutMs, left)); // AbortSignal.timeout takes whole ms
    const answer = await poll(dispatcher, target.url, headers, budget, cancel);
    progress.polls += 1;
    // A poll the deadline cut short says nothing about the device: keep its last real answer.
    const cut = answer.timedOut === true && budget < target.pollTimeoutMs;
    if (!cut || progress.last === NOTHING_YET) progress.last = answer.seen;
    observe?.(progress);
    if (answer.digest === target.expected) return outcome(true);
    const rest = deadline - performance.now();
    if (rest <= 0) break;
    await sleep(Math.min(target.intervalMs, rest), undefined, { signal: cancel });
  }
  return outcome(false);
}

/** The failure message of a verification that timed out (without the device id). */
export function verifyTimeoutMessage(target: VerifyTarget, outcome: VerifyOutcome): string {
  const polls = `${outcome.polls} poll${outcome.polls === 1 ? '' : 's'}`;
  return (
    `accepted the update but did not report it within the verify timeout: waited ${outcome.waitedMs} ms ` +
    `(timeout ${target.timeoutMs} ms, ${polls}) for ${target.url} to report digest ${target.expected}; ` +
    `last report: ${outcome.last}`
  );
}

interface PollAnswer {
  /** The reported digest; undefined when the answer carried none. */
  digest?: string | null;
  /** The answer, described for a failure message. */
  seen: string;
  /** No answer within the poll's time budget. */
  timedOut?: true;
}

/** One GET of the status URL, bounded by `timeoutMs`; never rejects unless `cancel` fired. */
async function poll(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  cancel: AbortSignal,
): Promise<PollAnswer> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([cancel, timeout]);
  try {
    const res = await request(url, {
      dispatcher,
      method: 'GET',
      headers,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await readBounded(res.body);
    const status = describeStatus(res.statusCode);
    if (text === undefined) return { seen: `${status} with a body over ${RESPONSE_BODY_LIMIT} bytes` };
    const snippet = text
      .slice(0, REPORT_SNIPPET_CHARS)
      .replace(/\p{Cc}+/gu, ' ')
      .trim();
    if (res.statusCode < 200 || res.statusCode > 299) return { seen: `${status} ${snippet}`.trim() };
    return reportOf(text, `${status} ${snippet}`);
  } catch (err) {
    if (cancel.aborted) throw err;
    if (timeout.aborted) return { seen: `no answer within ${timeoutMs} ms`, timedOut: true };
    return { seen: classifyError(err).message };
  }
}

function reportOf(text: string, seen: string): PollAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { seen: `${seen} (not JSON)` };
  }
  const digest = (value as { digest?: unknown } | null)?.digest;
  if (typeof digest === 'string' || digest === null) return { digest, seen };
  return { seen: `${seen} (no "digest" string or null)` };
}

/** The body as text, or undefined when it is over the limit (the connection is then dropped). */
async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > RESPONSE_BODY_LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
