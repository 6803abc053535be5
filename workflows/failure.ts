/**
 * Turns what a push activity's promise rejected with into a report line. Workflow-safe: only
 * failure classes from `@temporalio/workflow`.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType } from '../shared/failure-types.js';
import type { PushFailureDetails } from '../shared/types.js';

export interface DescribedFailure {
  errorType: string;
  message: string;
  attempts: number | null;
  status?: number;
}

export function describeFailure(err: unknown): DescribedFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as PushFailureDetails | undefined;
    return {
      errorType: cause.type ?? 'Error',
      message: cause.message,
      attempts: details?.attempt ?? null,
      ...(details?.status === undefined ? {} : { status: details.status }),
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      errorType: FailureType.DeviceTimeout,
      message: `Temporal gave up on the device: ${cause.message || 'timeout'} (${String(cause.timeoutType)})`,
      attempts: null,
    };
  }
  return {
    errorType: 'Error',
    message: cause instanceof Error ? cause.message : String(cause),
    attempts: null,
  };
}
