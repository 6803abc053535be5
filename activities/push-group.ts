/**
 * The fast path: first attempts for a group of devices in one heartbeating activity. Temporal
 * records one activity for the group instead of one per device; every device still gets its
 * own outcome, and a device whose first attempt failed retryably goes back to the workflow,
 * which retries it as a per-device activity with the rollout's retry policy.
 *
 * Guarantees it keeps:
 * - breaker: the group holds `units` of the batch's slots and failure permits; a push starts
 *   only while pushes in flight + failures stay below `units`, exactly the per-device rule;
 * - verified completion (`input.verify`): a device's push is in flight until the device
 *   confirmed the update or failed `VerifyTimeout` (permanent: outcome `failed`), so a device
 *   under verification keeps its unit — an unconfirmed device may yet become a failure;
 * - cancellation: heartbeats every second; on cancellation the pushes in flight (and the
 *   verifications) are aborted and the group returns what it did (results of a cancelled
 *   group are still recorded);
 * - crash safety: results so far travel in the heartbeat details; a retried group resumes
 *   from them and re-pushes only devices whose outcome it never recorded, with the same
 *   idempotency key (at-least-once). A device is recorded only once verified, so a device
 *   whose push succeeded but whose verification had not finished when the worker died is
 *   pushed again (the device answers "already applied") and verified again, from a fresh
 *   deadline.
 */
import { Context } from '@temporalio/activity';
import type { ArtifactRef, DeviceTarget, VerifySpec } from '../shared/types.js';
import { waitForSlot } from './pace.js';
import { PushAttemptError, attemptPush, type PushTransport } from './push.js';

/** Input of `pushGroup`. */
export interface PushGroupInput {
  rolloutId: string;
  artifact: ArtifactRef;
  attemptTimeoutMs: number;
  devices: DeviceTarget[];
  /** Pushes in flight + failures this group may reach: its share of slots and failure permits. */
  units: number;
  /** Verify each device runs the artifact after its 2xx (absent: a 2xx is success). */
  verify?: VerifySpec;
  /** Rate limit: device i starts no earlier than `notBefore + i * intervalMs` (epoch ms). */
  pace?: { notBefore: number; intervalMs: number };
}

/** What happened to one device of the group (devices absent from the results were not started). */
export interface GroupDeviceResult {
  /** Index in `PushGroupInput.devices`. */
  i: number;
  outcome: 'succeeded' | 'failed' | 'retry' | 'aborted';
  /** 1, or more when a crashed group attempt may already have pushed the device. */
  attempt: number;
  status?: number;
  errorType?: string;
  message?: string;
  /** For `retry`: the device's `Retry-After`, in ms. */
  retryDelayMs?: number;
  /** For `retry`: when the attempt failed (ms since the epoch), so the backoff counts from then. */
  failedAt?: number;
}

export interface PushGroupResult {
  results: GroupDeviceResult[];
}

interface Progress {
  results: GroupDeviceResult[];
  /** Devices started by an earlier attempt of this group, whose outcome may be unknown. */
  started: number[];
}

export function createPushGroup(deps: PushTransport & { heartbeatIntervalMs: number }) {
  return async function pushGroup(input: PushGroupInput): Promise<PushGroupResult> {
    const ctx = Context.current();
    const previous = ctx.info.heartbeatDetails as Progress | undefined;
    const done = new Map((previous?.results ?? []).map((r) => [r.i, r]));
    const startedBefore = new Set(previous?.started ?? []);
    const started = new Set<number>(startedBefore);
    const beat = (): void =>
      ctx.heartbeat({ results: [...done.values()], started: [...started] } satisfies Progress);
    const timer = setInterval(beat, deps.heartbeatIntervalMs);
    let failures = [...done.values()].filter((r) => r.outcome !== 'succeeded').length;
    let inFlight = 0;
    let next = 0;
    const cancel = ctx.cancellationSignal;

    const pushOne = async (i: number): Promise<void> => {
      const device = input.devices[i]!;
      const attempt = startedBefore.has(i) ? 2 : 1;
      started.add(i);
      try {
        const sent = await attemptPush(deps, { ...input, device }, cancel);
        done.set(i, { i, outcome: 'succeeded', attempt, status: sent.status });
      } catch (err) {
        failures += 1;
        done.set(i, failureResult(i, device.id, attempt, err, cancel.aborted));
      }
    };
    /** Waits for a rate-limit slot; false when cancelled first (the device was not started). */
    const reachSlot = async (at: number): Promise<boolean> => {
      try {
        await waitForSlot(at, cancel);
        return true;
      } catch (err) {
        if (cancel.aborted) return false;
        throw err;
      }
    };
    const lane = async (): Promise<void> => {
      while (!cancel.aborted && inFlight + failures < input.units) {
        while (next < input.devices.length && done.has(next)) next += 1;
        if (next >= input.devices.length) return;
        const i = next++;
        if (input.pace && !(await reachSlot(input.pace.notBefore + i * input.pace.intervalMs))) return;
        inFlight += 1;
        try {
          await pushOne(i);
        } finally {
          inFlight -= 1;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, input.units) }, lane));
    } finally {
      clearInterval(timer);
    }
    return { results: [...done.values()] };
  };
}

function failureResult(
  i: number,
  deviceId: string,
  attempt: number,
  err: unknown,
  cancelled: boolean,
): GroupDeviceResult {
  if (cancelled) return { i, outcome: 'aborted', attempt };
  if (!(err instanceof PushAttemptError)) {
    return {
      i,
      outcome: 'retry',
      attempt,
      errorType: 'Error',
      message: `device ${deviceId}: ${String(err)}`,
    };
  }
  const { failure } = err;
  return {
    i,
    outcome: failure.nonRetryable ? 'failed' : 'retry',
    ...(failure.nonRetryable ? {} : { failedAt: Date.now() }),
    attempt,
    errorType: failure.type,
    message: `device ${deviceId}: ${failure.message}`,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.nextRetryDelayMs === undefined ? {} : { retryDelayMs: failure.nextRetryDelayMs }),
  };
}
