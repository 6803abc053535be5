/**
 * Activity options of the pushes. Workflow-safe: proxies only, activities imported as types.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { FailureType, PERMANENT_FAILURE_TYPES } from '../shared/failure-types.js';
import type { RolloutSettings } from './settings.js';
import { DEFAULT_SETTINGS } from './settings.js';

/** Time an attempt may take beyond its own timeout before Temporal declares it lost (stream setup, queueing). */
const PUSH_GRACE_MS = 10_000; // 10 s
/** Pushes heartbeat every second; a worker silent this long is presumed dead and the attempt retried. */
const HEARTBEAT_TIMEOUT_MS = 10_000; // 10 s

export const { loadDevices } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: [FailureType.InvalidFleet] },
});

/** The longest a verification may take (it fails `VerifyTimeout` after its timeout). */
function verifyTime(settings: RolloutSettings): number {
  return (settings.verifyTimeoutMs ?? DEFAULT_SETTINGS.verifyTimeoutMs ?? 0) + PUSH_GRACE_MS;
}

/**
 * The per-device push, with the rollout's retry policy. `attemptsMade` attempts already
 * happened in a group (fast path): the policy then starts one backoff step later.
 */
export function pushActivity(
  settings: RolloutSettings,
  deviceId: string,
  attemptsMade = 0,
  /** The push polls the device's status after its 2xx (verified completion). */
  verifies = false,
): Activities['pushUpdate'] {
  const initial = Math.min(
    settings.maxIntervalMs,
    settings.initialIntervalMs * settings.backoffCoefficient ** attemptsMade,
  );
  return proxyActivities<Activities>({
    startToCloseTimeout: settings.attemptTimeoutMs + PUSH_GRACE_MS + (verifies ? verifyTime(settings) : 0),
    scheduleToCloseTimeout: settings.deviceTimeoutMs,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
    // Wait for the activity to confirm its abort, so "aborted" means the push really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: settings.maxAttempts - attemptsMade,
      initialInterval: initial,
      backoffCoefficient: settings.backoffCoefficient,
      maximumInterval: settings.maxIntervalMs,
      nonRetryableErrorTypes: [...PERMANENT_FAILURE_TYPES],
    },
    summary: `push ${deviceId}`,
  }).pushUpdate;
}

/** The fast path's group push: first attempts for `count` devices; retried (resuming) if a worker dies. */
export function pushGroupActivity(
  settings: RolloutSettings,
  label: string,
  count: number,
  units: number,
  verifies = false,
): Activities['pushGroup'] {
  const rounds = Math.ceil(count / Math.max(1, units));
  const perDevice = settings.attemptTimeoutMs + PUSH_GRACE_MS + (verifies ? verifyTime(settings) : 0);
  return proxyActivities<Activities>({
    startToCloseTimeout: rounds * perDevice + 60_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 5, initialInterval: 1000, backoffCoefficient: 2 },
    summary: `push ${label} (${count} devices, first attempts)`,
  }).pushGroup;
}
