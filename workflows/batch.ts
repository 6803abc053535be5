/**
 * `batchWorkflow` pushes one slice of the frozen fleet, one activity per device, within the
 * slots and failure permits its rollout grants (see allocation.ts and breaker.ts).
 *
 * Why a child workflow per batch: each push costs ~3 history events plus workflow tasks, so a
 * 100,000-device rollout cannot live in one history (51,200 events is a hard stop). A batch of
 * at most 1,000 devices stays under the 10,240-event warning, and the rollout itself records
 * only a few events per batch.
 *
 * Why reports are signals to the rollout's workflow id (not the child's result): the rollout
 * continues-as-new while batches run, and only a signal by id reaches its latest run. Reports
 * carry cumulative counts, so the latest one is always the whole truth.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import {
  FailureType,
  PERMANENT_FAILURE_TYPES,
  ROLLOUT_FATAL_FAILURE_TYPES,
} from '../shared/failure-types.js';
import type { DeviceTarget } from '../shared/types.js';
import type {
  BatchControl,
  BatchGrant,
  BatchInput,
  BatchReport,
  BatchResult,
  DeviceOutcome,
  FailureSample,
} from './definitions.js';
import { batchControlSignal, batchReportSignal, DeviceOutcomeKind } from './definitions.js';
import { describeFailure } from './failure.js';
import type { RolloutSettings } from './settings.js';

type Activities = ReturnType<typeof createActivities>;

const { loadDevices } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: [FailureType.InvalidFleet] },
});

/** Time an attempt may take beyond its own timeout before Temporal declares it lost (stream setup, queueing). */
const PUSH_GRACE_MS = 10_000; // 10 s
/** A push heartbeats every second; a worker silent this long is presumed dead and the attempt retried. */
const PUSH_HEARTBEAT_TIMEOUT_MS = 10_000; // 10 s
/** A batch with news reports at least this often (progress for the CLI and the Web UI). */
const REPORT_INTERVAL_MS = 1000; // 1 s
const MAX_SAMPLES_PER_BATCH = 5;
const MAX_MESSAGE_LENGTH = 200;

function pushActivity(settings: RolloutSettings, deviceId: string): Activities['pushUpdate'] {
  return proxyActivities<Activities>({
    startToCloseTimeout: settings.attemptTimeoutMs + PUSH_GRACE_MS,
    scheduleToCloseTimeout: settings.deviceTimeoutMs,
    heartbeatTimeout: PUSH_HEARTBEAT_TIMEOUT_MS,
    // Wait for the activity to confirm its abort, so "aborted" means the push really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: settings.maxAttempts,
      initialInterval: settings.initialIntervalMs,
      backoffCoefficient: settings.backoffCoefficient,
      maximumInterval: settings.maxIntervalMs,
      nonRetryableErrorTypes: [...PERMANENT_FAILURE_TYPES],
    },
    summary: `push ${deviceId}`,
  }).pushUpdate;
}

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const batch = new BatchRun(input);
  setHandler(batchControlSignal, (control) => batch.control(control));
  return await batch.run();
}

class BatchRun {
  private grant: BatchGrant;
  private stopReason: 'halted' | 'cancelled' | null = null;
  private devices: DeviceTarget[] = [];
  private readonly outcomes: (DeviceOutcome | undefined)[];
  private next = 0;
  private inFlight = 0;
  private succeeded = 0;
  private failed = 0;
  private aborted = 0;
  private readonly failuresByType: Record<string, number> = {};
  private readonly samples: FailureSample[] = [];
  private fatal: BatchReport['fatal'];
  private changed = false;
  private lastReported = -1;
  private readonly pushes = new CancellationScope();

  constructor(private readonly input: BatchInput) {
    this.grant = input.grant;
    this.outcomes = new Array<DeviceOutcome | undefined>(input.count);
  }

  control(control: BatchControl): void {
    if (control.grant) this.grant = control.grant;
    if (control.stop && !this.stopReason) this.stop(control.stop);
    this.changed = true;
  }

  async run(): Promise<BatchResult> {
    try {
      this.devices = await loadDevices(this.input.fleet, this.input.start, this.input.count);
      void this.reportPeriodically();
      await this.pushAll();
    } catch (err) {
      if (!isCancellation(err)) {
        await this.report({ error: describeFailure(err).message });
        throw err;
      }
      // Cancelled directly (not through the rollout): stop like a cancelled rollout would.
      this.stop('cancelled');
    }
    await CancellationScope.nonCancellable(async () => {
      await condition(() => this.inFlight === 0);
      await this.report({ done: true });
    });
    return this.result();
  }

  private async pushAll(): Promise<void> {
    for (;;) {
      while (this.canStart()) this.start(this.next++);
      if (this.stopReason || (this.next >= this.devices.length && this.inFlight === 0)) return;
      if (this.shouldReportNow()) await this.report({});
      await condition(() => this.changed);
      this.changed = false;
    }
  }

  private canStart(): boolean {
    return (
      !this.stopReason &&
      this.next < this.devices.length &&
      this.inFlight < this.grant.slots &&
      this.failed + this.inFlight < this.grant.permits
    );
  }

  private start(index: number): void {
    const device = this.devices[index]!;
    const push = pushActivity(this.input.settings, device.id);
    this.inFlight += 1;
    void this.pushes
      .run(() =>
        push({
          rolloutId: this.input.rolloutId,
          device,
          artifact: this.input.artifact,
          attemptTimeoutMs: this.input.settings.attemptTimeoutMs,
        }),
      )
      .then(
        (result) => {
          this.succeeded += 1;
          this.outcomes[index] = {
            deviceId: device.id,
            outcome: DeviceOutcomeKind.Succeeded,
            attempts: result.attempt,
            status: result.status,
          };
        },
        (err: unknown) => this.recordFailure(index, device, err),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.changed = true;
      });
  }

  private recordFailure(index: number, device: DeviceTarget, err: unknown): void {
    if (isCancellation(err)) {
      this.aborted += 1;
      this.outcomes[index] = { deviceId: device.id, outcome: DeviceOutcomeKind.Aborted, attempts: null };
      return;
    }
    const failure = describeFailure(err);
    const message = failure.message.slice(0, MAX_MESSAGE_LENGTH);
    this.failed += 1;
    this.failuresByType[failure.errorType] = (this.failuresByType[failure.errorType] ?? 0) + 1;
    this.outcomes[index] = {
      deviceId: device.id,
      outcome: DeviceOutcomeKind.Failed,
      attempts: failure.attempts,
      errorType: failure.errorType,
      message,
      ...(failure.status === undefined ? {} : { status: failure.status }),
    };
    if (this.samples.length < MAX_SAMPLES_PER_BATCH) {
      this.samples.push({
        deviceId: device.id,
        errorType: failure.errorType,
        message,
        attempts: failure.attempts,
      });
    }
    if (ROLLOUT_FATAL_FAILURE_TYPES.includes(failure.errorType as FailureType) && !this.fatal) {
      // The artifact itself is wrong: no other device should get it. Tell the rollout at once.
      this.fatal = { errorType: failure.errorType, message };
      this.stop('halted');
    }
  }

  private stop(reason: 'halted' | 'cancelled'): void {
    this.stopReason = reason;
    this.pushes.cancel();
  }

  /** Report when the rollout must act: out of failure permits, or holding slots it cannot use. */
  private shouldReportNow(): boolean {
    const finished = this.succeeded + this.failed + this.aborted;
    if (finished === this.lastReported) return false;
    const remaining = this.devices.length - this.next;
    const starved =
      remaining > 0 && this.inFlight < this.grant.slots && this.failed + this.inFlight >= this.grant.permits;
    const unused = this.grant.slots - (this.inFlight + remaining);
    return starved || unused >= Math.max(1, Math.floor(this.grant.slots / 4)) || this.fatal !== undefined;
  }

  private async reportPeriodically(): Promise<void> {
    for (;;) {
      await condition(() => this.succeeded + this.failed + this.aborted !== this.lastReported);
      await sleep(REPORT_INTERVAL_MS);
      if (this.stopReason || this.next >= this.devices.length) {
        if (this.inFlight === 0) return;
      }
      if (this.succeeded + this.failed + this.aborted !== this.lastReported) await this.report({});
    }
  }

  private async report(extra: Partial<Pick<BatchReport, 'done' | 'error'>>): Promise<void> {
    this.lastReported = this.succeeded + this.failed + this.aborted;
    const report: BatchReport = {
      batch: this.input.batch,
      succeeded: this.succeeded,
      failed: this.failed,
      aborted: this.aborted,
      inFlight: this.inFlight,
      remaining: this.devices.length === 0 ? this.input.count : this.input.count - this.next,
      failuresByType: { ...this.failuresByType },
      done: extra.done ?? false,
      ...(extra.done ? { samples: this.samples } : {}),
      ...(this.fatal ? { fatal: this.fatal } : {}),
      ...(extra.error === undefined ? {} : { error: extra.error }),
    };
    try {
      await getExternalWorkflowHandle(this.input.rolloutId).signal(batchReportSignal, report);
    } catch (err) {
      // The rollout is gone (terminated): an orphaned batch must not go on pushing.
      log.warn('rollout unreachable; stopping batch', { batch: this.input.batch, error: String(err) });
      if (!this.stopReason) this.stop('cancelled');
    }
  }

  private result(): BatchResult {
    // Array.from visits every slot (map would skip the holes of devices never started).
    const outcomes = Array.from(
      this.outcomes,
      (o, i): DeviceOutcome =>
        o ?? {
          deviceId: this.devices[i]?.id ?? `#${this.input.start + i}`,
          outcome: DeviceOutcomeKind.NotAttempted,
          attempts: 0,
        },
    );
    return {
      batch: this.input.batch,
      start: this.input.start,
      succeeded: this.succeeded,
      failed: this.failed,
      aborted: this.aborted,
      notAttempted: this.input.count - this.succeeded - this.failed - this.aborted,
      outcomes,
    };
  }
}
