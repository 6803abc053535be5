/**
 * The push activity: one attempt to POST the artifact to one device. Temporal's retry policy
 * makes the attempts; this code makes one (`attemptPush`, shared with the group fast path),
 * streams the artifact through a digest check, verifies completion when asked (`verify.ts`),
 * and turns the outcome into a result or an ApplicationFailure typed from the failure table.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, type ApplicationFailureOptions } from '@temporalio/common';
import { request, type Dispatcher } from 'undici';
import { FailureType } from '../shared/failure-types.js';
import { DigestVerifier, contentDigest } from '../shared/digest.js';
import { hostOf, type HostAllowlist } from '../shared/host-allowlist.js';
import type {
  ArtifactRef,
  DeviceTarget,
  PushFailureDetails,
  PushInput,
  PushResult,
} from '../shared/types.js';
import {
  RESPONSE_BODY_LIMIT,
  classifyError,
  classifyStatus,
  retryDelayOf,
  type Classification,
} from './classify.js';
import { cachedArtifact } from './artifact-cache.js';
import { NO_PUSH_METRICS, type PushMetrics } from './metrics.js';
import { PushDispatcher } from './http.js';
import { CredentialError, resolveCredential } from './credentials.js';
import {
  awaitConfirmation,
  pollHeaders,
  verifyTargetOf,
  verifyTimeoutMessage,
  type VerifyProgress,
  type VerifyTarget,
} from './verify.js';

/** What an attempt goes through, and where it may go. */
export interface PushTransport {
  /** The worker's shared keep-alive dispatcher (see `createDispatcher`). */
  dispatcher: Dispatcher;
  /** Hosts pushes and status polls may reach (PUSH_ALLOW_HOSTS); absent: any host. */
  allowHosts?: HostAllowlist | undefined;
  /** Where attempts are counted and timed (Prometheus); absent: nowhere. */
  metrics?: PushMetrics | undefined;
}

/** Dependencies of the push activity, injected by the worker. */
export interface PushDeps extends PushTransport {
  /** Heartbeat period while an attempt runs, in ms; heartbeats are how cancellation arrives. */
  heartbeatIntervalMs?: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000; // 1 s
const READ_CHUNK = 64 * 1024; // 64 KiB: memory per push in flight
const ENGINE_HEADERS = new Set(['content-type', 'content-length', 'content-digest', 'idempotency-key']);

/** A failure of one attempt, before it becomes an ApplicationFailure. */
export interface AttemptFailure extends Classification {
  status?: number;
  nextRetryDelayMs?: number;
  cause?: unknown;
}

/** Carries an `AttemptFailure` up to where the device and attempt are known. */
export class PushAttemptError extends Error {
  constructor(readonly failure: AttemptFailure) {
    super(failure.message);
  }
}

/** Creates the `pushUpdate` activity. */
export function createPushUpdate(deps: PushDeps): (input: PushInput) => Promise<PushResult> {
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  /**
   * POSTs the artifact to `input.device` once (and, with `input.verify`, waits until the device
   * reports it). Resolves with the 2xx answer; throws an ApplicationFailure (type from
   * `FailureType`, `nonRetryable` where a retry cannot help, `nextRetryDelay` from a
   * `Retry-After`), or the CancelledFailure when the activity is cancelled. Heartbeat details:
   * `{ bytesSent }`, plus `verify: { polls, last }` while verifying.
   *
   * A worker that dies while a device is being verified loses the verification: Temporal
   * retries the activity, which pushes again (same idempotency key, so the device answers
   * "already applied") and verifies again, with a fresh deadline.
   */
  return async function pushUpdate(input: PushInput): Promise<PushResult> {
    const ctx = Context.current();
    const attempt = ctx.info.attempt + (input.attemptOffset ?? 0);
    let bytesSent = (): number => 0;
    let verify: VerifyProgress | undefined;
    const beat = (): void =>
      ctx.heartbeat({ bytesSent: bytesSent(), ...(verify === undefined ? {} : { verify }) });
    const timer = setInterval(beat, heartbeatIntervalMs);
    try {
      const sent = await attemptPush(deps, input, ctx.cancellationSignal, {
        sending: (bytes) => (bytesSent = bytes),
        polled: (progress) => (verify = { ...progress }),
      });
      // Structured: with LOG_FORMAT=json each field is a JSON key, beside the SDK's own
      // (workflowId = the batch, activityId, attempt).
      ctx.log.debug('push succeeded', {
        rolloutId: input.rolloutId,
        deviceId: input.device.id,
        attempt,
        status: sent.status,
        durationMs: sent.durationMs,
      });
      return { ...sent, attempt };
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw cancellation(ctx.cancellationSignal.reason);
      if (err instanceof PushAttemptError) {
        ctx.log.warn('push attempt failed', {
          rolloutId: input.rolloutId,
          deviceId: input.device.id,
          attempt,
          failureType: err.failure.type,
          retryable: !err.failure.nonRetryable,
          error: err.failure.message,
        });
        throw toApplicationFailure(input.device, attempt, err.failure);
      }
      throw err;
    } finally {
      clearInterval(timer);
    }
  };
}

/** What one successful attempt sent (`durationMs`: the POST alone, verification excluded). */
export type SentPush = Omit<PushResult, 'attempt'>;

/** What the caller of `attemptPush` may watch. */
export interface AttemptObserver {
  /** Receives a reader of the bytes sent so far, once the body is ready. */
  sending?: (bytesSent: () => number) => void;
  /** Called after each status poll of verified completion. */
  polled?: (progress: VerifyProgress) => void;
}

/**
 * One attempt to POST the artifact to `input.device`, aborted when `cancel` fires or the
 * attempt timeout passes. Resolves on a 2xx answer — with `input.verify` and a status URL for
 * the device, only once the device reports the artifact's digest; rejects with a
 * `PushAttemptError` that classifies every other outcome (`VerifyTimeout`, non-retryable, when
 * the device accepted but never reported it; `HostNotAllowed` before any connection when the
 * device or status URL is outside `transport.allowHosts`), or with the abort when `cancel` fired.
 */
export async function attemptPush(
  transport: PushTransport,
  input: PushInput,
  cancel: AbortSignal,
  observe?: AttemptObserver,
): Promise<SentPush> {
  const { dispatcher, allowHosts } = transport;
  checkHost(allowHosts, input.device.url, 'device URL');
  const verify = verifyTargetOf(input); // before the push: a spec that cannot work pushes nothing
  if (verify !== undefined) checkHost(allowHosts, verify.url, 'status URL');
  const token = input.device.token === undefined ? undefined : await resolveToken(input.device.token);
  const metrics = transport.metrics ?? NO_PUSH_METRICS;
  metrics.attemptStarted();
  const started = performance.now();
  let sent: SentPush;
  try {
    sent = await postArtifact(dispatcher, input, token, cancel, observe);
  } catch (err) {
    const outcome = cancel.aborted ? 'aborted' : err instanceof PushAttemptError ? err.failure.type : 'Error';
    metrics.attemptEnded({ outcome, durationMs: performance.now() - started, bytes: 0 });
    throw err;
  }
  metrics.attemptEnded({ outcome: 'succeeded', durationMs: sent.durationMs, bytes: sent.bytes });
  if (verify !== undefined) {
    try {
      await confirmApplied(dispatcher, input, verify, token, cancel, observe);
    } catch (err) {
      if (err instanceof PushAttemptError && err.failure.type === FailureType.VerifyTimeout)
        metrics.verified(FailureType.VerifyTimeout);
      throw err;
    }
    metrics.verified('confirmed');
  }
  return sent;
}

/** Waits until the device reports the artifact; throws `VerifyTimeout` when it does not in time. */
async function confirmApplied(
  dispatcher: Dispatcher,
  input: PushInput,
  target: VerifyTarget,
  token: string | undefined,
  cancel: AbortSignal,
  observe: AttemptObserver | undefined,
): Promise<void> {
  const headers = pollHeaders(input.device, target.url, token);
  const outcome = await awaitConfirmation(dispatcher, target, headers, cancel, observe?.polled);
  if (!outcome.confirmed) {
    // Permanent: the device took the update and answered 2xx, so pushing it again cannot help.
    throw attemptFailure(FailureType.VerifyTimeout, verifyTimeoutMessage(target, outcome), true);
  }
}

/** The POST itself: resolves on a 2xx with what was sent. */
async function postArtifact(
  dispatcher: Dispatcher,
  input: PushInput,
  token: string | undefined,
  cancel: AbortSignal,
  observe: AttemptObserver | undefined,
): Promise<SentPush> {
  const body = await bodyOf(input);
  const { attemptTimeoutMs } = input;
  observe?.sending?.(() => body.bytesOut());
  const timeout = AbortSignal.timeout(attemptTimeoutMs);
  const signal = AbortSignal.any([cancel, timeout]);
  const started = performance.now();
  try {
    const res = await request(input.device.url, {
      dispatcher,
      method: 'POST',
      headers: requestHeaders(input, token),
      body: body.payload,
      signal,
      headersTimeout: attemptTimeoutMs,
      bodyTimeout: attemptTimeoutMs,
    });
    const verdict = classifyStatus(res.statusCode);
    if (verdict !== undefined) throw await statusFailure(res, verdict);
    // A 2xx means the device took the update: a body that ends late (or never) must not turn
    // it into a timeout, which would push again. Drain what comes in time, then move on.
    await res.body.dump({ limit: RESPONSE_BODY_LIMIT, signal }).catch(() => undefined);
    const mismatch = body.mismatch();
    if (mismatch !== undefined) throw artifactChanged(input, mismatch.message);
    return {
      status: res.statusCode,
      bytes: body.bytesOut(),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (err instanceof PushAttemptError) throw err;
    throw await diagnosed(dispatcher, input, attemptError(err, input, body, timeout), cancel);
  } finally {
    body.destroy();
  }
}

/**
 * A reset from an https device may hide its refusal of the worker's client certificate (see
 * `PushDispatcher.diagnoseTls`): ask TLS, and report the certificate error if there is one.
 */
async function diagnosed(
  dispatcher: Dispatcher,
  input: PushInput,
  error: PushAttemptError,
  cancel: AbortSignal,
): Promise<PushAttemptError> {
  const reset = error.failure.type === FailureType.ConnectionReset;
  if (!reset || !(dispatcher instanceof PushDispatcher) || !input.device.url.startsWith('https:'))
    return error;
  const tlsError = await dispatcher.diagnoseTls(input.device.url, cancel);
  const verdict = tlsError === undefined ? undefined : classifyError(tlsError);
  if (verdict?.type !== FailureType.TlsCertificateError) return error;
  return new PushAttemptError({ ...verdict, cause: tlsError });
}

interface ArtifactBody {
  payload: Buffer | Readable;
  bytesOut(): number;
  /** Set when the bytes streamed are not the artifact's. */
  mismatch(): Error | undefined;
  /** Set when reading the file failed mid-stream. */
  readError: Error | undefined;
  destroy(): void;
}

/** The request body: a small artifact from the worker's verified copy, a large one streamed. */
async function bodyOf(input: PushInput): Promise<ArtifactBody> {
  const cached = await cachedArtifact(input.artifact);
  if (cached.kind === 'changed') throw artifactChanged(input, cached.what);
  if (cached.kind === 'unreadable') throw artifactUnreadable(input, cached.error);
  if (cached.kind === 'large') return artifactStream(await openArtifact(input), input.artifact);
  const { bytes } = cached;
  return {
    payload: bytes,
    bytesOut: () => bytes.length,
    mismatch: () => undefined,
    readError: undefined,
    destroy: () => {},
  };
}

/** The artifact streamed from the open file through the digest check. */
function artifactStream(file: FileHandle, artifact: ArtifactRef): ArtifactBody {
  const source = file.createReadStream({ highWaterMark: READ_CHUNK });
  const verifier = new DigestVerifier({ size: artifact.size, sha256: artifact.sha256 });
  const body: ArtifactBody = {
    payload: verifier,
    bytesOut: () => verifier.bytesOut,
    mismatch: () => verifier.mismatch,
    readError: undefined,
    destroy: () => {
      source.destroy(); // closes the file
      verifier.destroy();
    },
  };
  source.once('error', (err) => (body.readError = err));
  pipeline(source, verifier, () => {}); // errors are read from `readError` / `mismatch()`
  return body;
}

/** Why an attempt failed: the artifact first (a device error may be its echo), then the timeout, then the network. */
function attemptError(
  err: unknown,
  input: PushInput,
  body: ArtifactBody,
  timeout: AbortSignal,
): PushAttemptError {
  const mismatch = body.mismatch();
  if (mismatch !== undefined) return artifactChanged(input, mismatch.message);
  if (body.readError !== undefined) return artifactUnreadable(input, body.readError);
  if (timeout.aborted) {
    return attemptFailure(FailureType.AttemptTimeout, `attempt timed out after ${input.attemptTimeoutMs} ms`);
  }
  return new PushAttemptError({ ...classifyError(err), cause: err });
}

function requestHeaders(input: PushInput, token: string | undefined): Record<string, string> {
  const { artifact, device, rolloutId } = input;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(device.headers ?? {})) {
    // The fleet parser refuses these already; a device object from elsewhere must not override them either.
    if (!ENGINE_HEADERS.has(name.toLowerCase()) && !/^(authorization|x-rollout-id|host)$/i.test(name)) {
      headers[name] = value;
    }
  }
  headers['content-type'] = 'application/octet-stream';
  headers['content-length'] = String(artifact.size);
  headers['content-digest'] = contentDigest(artifact.sha256);
  // Same key on every attempt: a device that already applied this update can drop the duplicate.
  headers['idempotency-key'] = `${rolloutId}:${device.id}`;
  headers['x-rollout-id'] = rolloutId;
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  return headers;
}

async function statusFailure(
  res: Dispatcher.ResponseData,
  verdict: Classification,
): Promise<PushAttemptError> {
  const snippet = await readSnippet(res.body);
  const location = res.headers['location'];
  let message = verdict.message;
  if (verdict.type === FailureType.HttpRedirect && typeof location === 'string') {
    message += ` to ${location} (redirects are not followed)`;
  }
  if (snippet !== '') message += `: ${snippet}`;
  const failure: AttemptFailure = { ...verdict, message, status: res.statusCode };
  const delay = retryDelayOf(res.statusCode, res.headers['retry-after']);
  if (delay !== undefined && delay > 0) failure.nextRetryDelayMs = delay;
  return new PushAttemptError(failure);
}

/** The start of an error response's body, as one printable line; reads at most 64 KiB. */
async function readSnippet(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      // More than we read closes the connection rather than draining an unbounded body.
      if (size >= RESPONSE_BODY_LIMIT) break;
    }
  } catch {
    // The status is the outcome; a body cut short does not change it.
  }
  const text = Buffer.concat(chunks).subarray(0, 200).toString('utf8');
  return text.replace(/\p{Cc}+/gu, ' ').trim();
}

/**
 * Refuses a URL outside the worker's allowlist before anything is resolved or sent, so a fleet
 * file cannot make a worker push (or send a device's credential) where it should not, whatever
 * the client checked.
 */
function checkHost(allowHosts: HostAllowlist | undefined, url: string, what: string): void {
  if (allowHosts === undefined || allowHosts.allows(url)) return;
  const target = hostOf(url);
  const host = target === undefined ? url : `${target.host}:${target.port}`;
  throw attemptFailure(
    FailureType.HostNotAllowed,
    `${what} host ${host} is not allowed by this worker's PUSH_ALLOW_HOSTS (${allowHosts.toString()}); nothing was sent — ` +
      'fix the fleet file, or add the host to PUSH_ALLOW_HOSTS on every worker',
    true,
  );
}

async function resolveToken(reference: string): Promise<string> {
  try {
    return await resolveCredential(reference);
  } catch (err) {
    if (!(err instanceof CredentialError)) throw err;
    throw attemptFailure(FailureType.CredentialUnavailable, err.message, true);
  }
}

/** Opens the artifact and checks its size before a byte is sent. */
async function openArtifact(input: PushInput): Promise<FileHandle> {
  let file: FileHandle | undefined;
  let size: number;
  try {
    file = await open(input.artifact.path, 'r');
    const stats = await file.stat();
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    size = stats.size;
  } catch (err) {
    await file?.close();
    throw artifactUnreadable(input, err);
  }
  if (size === input.artifact.size) return file;
  await file.close();
  throw artifactChanged(input, `${size} bytes, expected ${input.artifact.size}`);
}

function artifactChanged(input: PushInput, what: string): PushAttemptError {
  return attemptFailure(
    FailureType.ArtifactChanged,
    `artifact ${input.artifact.path} changed since the rollout started (${what}) — start a new rollout for the new artifact`,
    true,
  );
}

function artifactUnreadable(input: PushInput, err: unknown): PushAttemptError {
  const code =
    (err as NodeJS.ErrnoException | undefined)?.code ?? (err as Error | undefined)?.message ?? 'error';
  return attemptFailure(
    FailureType.ArtifactUnreadable,
    `artifact ${input.artifact.path} cannot be read on this worker (${code}) — make it readable by every worker`,
    true,
  );
}

function attemptFailure(type: FailureType, message: string, nonRetryable = false): PushAttemptError {
  return new PushAttemptError({ type, message, nonRetryable });
}

export function toApplicationFailure(
  device: DeviceTarget,
  attempt: number,
  failure: AttemptFailure,
): ApplicationFailure {
  const details: PushFailureDetails = { attempt };
  if (failure.status !== undefined) details.status = failure.status;
  const options: ApplicationFailureOptions = {
    type: failure.type,
    message: `device ${device.id}: ${failure.message}`,
    nonRetryable: failure.nonRetryable,
    details: [details],
  };
  if (failure.nextRetryDelayMs !== undefined) options.nextRetryDelay = failure.nextRetryDelayMs;
  if (failure.cause instanceof Error) options.cause = failure.cause;
  return ApplicationFailure.create(options);
}

export function cancellation(reason: unknown): Error {
  return reason instanceof Error
    ? reason
    : new CancelledFailure(typeof reason === 'string' ? reason : 'CANCELLED');
}
