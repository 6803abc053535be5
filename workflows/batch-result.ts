/**
 * A batch's result in columns. It is recorded twice in Temporal (the batch's completion and,
 * in the rollout's history, the child's completion), so it is kept compact: ~20 bytes a device
 * instead of an object each. Pure: no Temporal import; the client decodes it for `results`.
 */
import type { DeviceCounts, DeviceOutcome } from './definitions.js';
import { DeviceOutcomeKind } from './definitions.js';

/** One letter per outcome in `BatchResult.outcomes`. */
export const OUTCOME_CODES: Readonly<Record<DeviceOutcomeKind, string>> = {
  succeeded: 's',
  failed: 'f',
  aborted: 'a',
  notAttempted: 'n',
};

/** Result of `batchWorkflow`: every device of its slice, for `rollout results`. */
export interface BatchResult extends DeviceCounts {
  batch: number;
  start: number;
  notAttempted: number;
  /** Ids of the slice's devices, in order (empty if the slice could not be loaded). */
  deviceIds: string[];
  /** One letter a device (see `OUTCOME_CODES`). */
  outcomes: string;
  /** Attempts a device; null when unknown. */
  attempts: (number | null)[];
  /** HTTP status a device answered last; 0 when none. */
  statuses: number[];
  /** Failed devices by index in the slice. */
  failures: Record<string, { errorType: string; message: string }>;
}

const KIND_OF = new Map(
  Object.entries(OUTCOME_CODES).map(([kind, code]) => [code, kind as DeviceOutcomeKind]),
);

/** The devices of a batch result, one outcome each; `undefined` where the id is unknown. */
export function decodeBatchResult(result: BatchResult): (DeviceOutcome | undefined)[] {
  return Array.from(result.outcomes, (code, i): DeviceOutcome | undefined => {
    const deviceId = result.deviceIds[i];
    if (deviceId === undefined) return undefined;
    const status = result.statuses[i] ?? 0;
    const failure = result.failures[String(i)];
    return {
      deviceId,
      outcome: KIND_OF.get(code) ?? DeviceOutcomeKind.NotAttempted,
      attempts: result.attempts[i] ?? null,
      ...(status === 0 ? {} : { status }),
      ...(failure ?? {}),
    };
  });
}
