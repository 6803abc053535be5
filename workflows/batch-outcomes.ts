/**
 * What a batch knows of its devices: one outcome each, counts, failures by type, a bounded
 * sample, and whether a failure means the rollout itself is broken. Pure: no Temporal import.
 */
import type { FailureType } from '../shared/failure-types.js';
import { ROLLOUT_FATAL_FAILURE_TYPES } from '../shared/failure-types.js';
import type { DeviceTarget } from '../shared/types.js';
import type { BatchInput, BatchReport, BatchResult, DeviceOutcome, FailureSample } from './definitions.js';
import { DeviceOutcomeKind } from './definitions.js';

const MAX_SAMPLES_PER_BATCH = 5;
const MAX_MESSAGE_LENGTH = 200;

export interface DeviceFailure {
  errorType: string;
  message: string;
  attempts: number | null;
  status?: number;
}

export class BatchOutcomes {
  private readonly outcomes: (DeviceOutcome | undefined)[];
  private counts = { succeeded: 0, failed: 0, aborted: 0 };
  private readonly failuresByType: Record<string, number> = {};
  private readonly samples: FailureSample[] = [];
  fatal: BatchReport['fatal'];

  constructor(count: number) {
    this.outcomes = new Array<DeviceOutcome | undefined>(count);
  }

  get failedCount(): number {
    return this.counts.failed;
  }

  /** Devices with a final outcome (aborted included). */
  get finished(): number {
    return this.counts.succeeded + this.counts.failed + this.counts.aborted;
  }

  succeeded(index: number, deviceId: string, attempts: number, status?: number): void {
    this.counts.succeeded += 1;
    this.outcomes[index] = {
      deviceId,
      outcome: DeviceOutcomeKind.Succeeded,
      attempts,
      ...(status === undefined ? {} : { status }),
    };
  }

  aborted(index: number, deviceId: string): void {
    this.counts.aborted += 1;
    this.outcomes[index] = { deviceId, outcome: DeviceOutcomeKind.Aborted, attempts: null };
  }

  failed(index: number, deviceId: string, failure: DeviceFailure): void {
    const message = failure.message.slice(0, MAX_MESSAGE_LENGTH);
    const { errorType, attempts } = failure;
    this.counts.failed += 1;
    this.failuresByType[errorType] = (this.failuresByType[errorType] ?? 0) + 1;
    this.outcomes[index] = {
      deviceId,
      outcome: DeviceOutcomeKind.Failed,
      attempts,
      errorType,
      message,
      ...(failure.status === undefined ? {} : { status: failure.status }),
    };
    if (this.samples.length < MAX_SAMPLES_PER_BATCH)
      this.samples.push({ deviceId, errorType, message, attempts });
    if (ROLLOUT_FATAL_FAILURE_TYPES.includes(errorType as FailureType) && !this.fatal) {
      this.fatal = { errorType, message };
    }
  }

  /** The cumulative report the rollout folds into its state. */
  report(
    batch: number,
    inFlight: number,
    remaining: number,
    extra: Partial<Pick<BatchReport, 'done' | 'error'>>,
  ): BatchReport {
    return {
      batch,
      ...this.counts,
      inFlight,
      remaining,
      failuresByType: { ...this.failuresByType },
      done: extra.done ?? false,
      ...(extra.done ? { samples: this.samples } : {}),
      ...(this.fatal ? { fatal: this.fatal } : {}),
      ...(extra.error === undefined ? {} : { error: extra.error }),
    };
  }

  /** Every device of the slice, for `rollout results`. */
  result(input: BatchInput, devices: readonly DeviceTarget[]): BatchResult {
    // Array.from visits every slot (map would skip the holes of devices never started).
    const outcomes = Array.from(
      this.outcomes,
      (o, i): DeviceOutcome =>
        o ?? {
          deviceId: devices[i]?.id ?? `#${input.start + i}`,
          outcome: DeviceOutcomeKind.NotAttempted,
          attempts: 0,
        },
    );
    return {
      batch: input.batch,
      start: input.start,
      ...this.counts,
      notAttempted: input.count - this.finished,
      outcomes,
    };
  }
}
