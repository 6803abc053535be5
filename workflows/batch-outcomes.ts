/**
 * What a batch knows of its devices: one outcome each, counts, failures by type, a bounded
 * sample, and whether a failure means the rollout itself is broken. Pure: no Temporal import.
 */
import type { FailureType } from '../shared/failure-types.js';
import { ROLLOUT_FATAL_FAILURE_TYPES } from '../shared/failure-types.js';
import type { DeviceTarget } from '../shared/types.js';
import type { BatchResult } from './batch-result.js';
import { OUTCOME_CODES } from './batch-result.js';
import type { BatchInput, BatchReport, FailureSample } from './definitions.js';

/** Failures a report lists at most (every outcome is in `rollout results`). */
export const MAX_FAILURE_SAMPLES = 20;
/** A batch's failure sample can fill the report's on its own (a one-batch rollout too). */
const MAX_SAMPLES_PER_BATCH = MAX_FAILURE_SAMPLES;
const MAX_MESSAGE_LENGTH = 200;

export interface DeviceFailure {
  errorType: string;
  message: string;
  attempts: number | null;
  status?: number;
}

export class BatchOutcomes {
  private readonly codes: string[];
  private readonly attempts: (number | null)[];
  private readonly statuses: number[];
  private readonly failures: BatchResult['failures'] = {};
  private counts = { succeeded: 0, failed: 0, aborted: 0 };
  private readonly failuresByType: Record<string, number> = {};
  private readonly samples: FailureSample[] = [];
  fatal: BatchReport['fatal'];

  constructor(count: number) {
    this.codes = new Array<string>(count).fill(OUTCOME_CODES.notAttempted);
    this.attempts = new Array<number | null>(count).fill(0);
    this.statuses = new Array<number>(count).fill(0);
  }

  get failedCount(): number {
    return this.counts.failed;
  }

  /** Devices with a final outcome (aborted included). */
  get finished(): number {
    return this.counts.succeeded + this.counts.failed + this.counts.aborted;
  }

  succeeded(index: number, attempts: number, status?: number): void {
    this.counts.succeeded += 1;
    this.set(index, OUTCOME_CODES.succeeded, attempts, status);
  }

  /** `attempts` when known: a group's device, or a retry cancelled before it started. */
  aborted(index: number, attempts: number | null = null): void {
    this.counts.aborted += 1;
    this.set(index, OUTCOME_CODES.aborted, attempts);
  }

  failed(index: number, deviceId: string, failure: DeviceFailure): void {
    const message = failure.message.slice(0, MAX_MESSAGE_LENGTH);
    const { errorType, attempts } = failure;
    this.counts.failed += 1;
    this.failuresByType[errorType] = (this.failuresByType[errorType] ?? 0) + 1;
    this.set(index, OUTCOME_CODES.failed, attempts, failure.status);
    this.failures[String(index)] = { errorType, message };
    if (this.samples.length < MAX_SAMPLES_PER_BATCH)
      this.samples.push({ deviceId, errorType, message, attempts });
    if (ROLLOUT_FATAL_FAILURE_TYPES.includes(errorType as FailureType) && !this.fatal) {
      this.fatal = { errorType, message };
    }
  }

  private set(index: number, code: string, attempts: number | null, status?: number): void {
    this.codes[index] = code;
    this.attempts[index] = attempts;
    this.statuses[index] = status ?? 0;
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
    return {
      batch: input.batch,
      start: input.start,
      ...this.counts,
      notAttempted: input.count - this.finished,
      deviceIds: devices.map((d) => d.id),
      outcomes: this.codes.join(''),
      attempts: this.attempts,
      statuses: this.statuses,
      failures: this.failures,
    };
  }
}
