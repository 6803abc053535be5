/**
 * `batchWorkflow` pushes one slice of the frozen fleet within the slots and failure permits its
 * rollout grants (see allocation.ts and breaker.ts): one activity per device, or, in fast mode,
 * first attempts in group activities with only the devices that failed retryably continuing as
 * per-device activities.
 *
 * Why a child workflow per batch: each per-device push costs ~3 history events plus workflow
 * tasks, so a 100,000-device rollout cannot live in one history (51,200 events is a hard
 * stop). A batch of at most 1,000 devices stays under the 10,240-event warning, and the
 * rollout itself records only a few events per batch.
 *
 * Why reports are signals to the rollout's workflow id (not the child's result): the rollout
 * continues-as-new while batches run, and only a signal by id reaches its latest run. Reports
 * carry cumulative counts, so the latest one is always the whole truth.
 */
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { GroupDeviceResult, PushGroupResult } from '../activities/push-group.js';
import type { DeviceTarget, PushResult, VerifySpec } from '../shared/types.js';
import { BatchOutcomes } from './batch-outcomes.js';
import type { BatchResult } from './batch-result.js';
import type { BatchControl, BatchGrant, BatchInput, BatchReport } from './definitions.js';
import { batchControlSignal, batchReportSignal } from './definitions.js';
import { workflowNow } from './clock.js';
import { describeFailure } from './failure.js';
import { loadDevices, pushActivity, pushGroupActivity } from './push-activities.js';
import { DEFAULT_SETTINGS, PushMode } from './settings.js';

/** A batch with news reports at least this often (progress for the CLI and the Web UI). */
const REPORT_INTERVAL_MS = 1000; // 1 s
/** Under a rate limit, the batch wakes at most this often to hand out slots. */
const RATE_TICK_MS = 100;
/** Slots are handed out this far ahead, so a push is at its device by its slot time. */
const RATE_LOOKAHEAD_MS = 300;
/** A batch starting (or behind) gives its first slot this far ahead of the workflow's clock. */
const RATE_LEAD_MS = 200;
/**
 * Slots are 4 % further apart than 1/rate: a few ms of jitter then never puts rate + 1 starts
 * into one second.
 */
const RATE_MARGIN = 1.04;
/** Devices per group activity in fast mode: rounds of its units, at least this many… */
const GROUP_MIN = 50;
/** …and at most this many (the group's heartbeat details carry its results)… */
const GROUP_MAX = 1000;
/**
 * …or, in rollouts that record the `fast-groups-v2` patch, twenty rounds of its units up to
 * this many devices, and at most GROUP_BYTES of device records in its input, so the input stays
 * under Temporal's 512 KB payload warning whatever the URLs. Longer groups mean fewer
 * hand-overs (group ends, batch schedules the next), each of which idles the group's slots.
 */
const GROUP_MAX_V2 = 5000;
const GROUP_BYTES = 256 * 1024;
/** Devices loaded per `loadDevices` call, so its result stays small for any batch size. */
const LOAD_CHUNK = 1000;
/** Per-device activities one batch keeps pending at most (Temporal refuses more than 2,000). */
const MAX_PENDING_PUSHES = 1000;

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const batch = new BatchRun(input);
  setHandler(batchControlSignal, (control) => batch.control(control));
  return await batch.run();
}

class BatchRun {
  private grant: BatchGrant;
  private stopReason: 'halted' | 'cancelled' | null = null;
  private devices: DeviceTarget[] = [];
  /** Devices not started yet, in priority order (indexes into `devices`). */
  private pending: number[] = [];
  private inFlight = 0;
  /** Per-device push activities scheduled and not settled (retries of a group's devices too). */
  private pendingPushes = 0;
  /** Group devices waiting for their per-device retry (see `retryLater`). */
  private readonly retries: Array<{ index: number; attemptsMade: number; dueAt: number }> = [];
  private fast: boolean;
  private readonly outcomes: BatchOutcomes;
  private changed = false;
  private lastReported = -1;
  private readonly pushes = new CancellationScope();
  /** Rate limit: the next device's start slot (epoch ms). */
  private nextSlot = 0;

  constructor(private readonly input: BatchInput) {
    this.grant = input.grant;
    this.fast = input.settings.mode === PushMode.Fast;
    this.outcomes = new BatchOutcomes(input.count);
  }

  control(control: BatchControl): void {
    if (control.grant) this.grant = control.grant;
    if (control.stop && !this.stopReason) this.stop(control.stop);
    this.changed = true;
  }

  async run(): Promise<BatchResult> {
    try {
      this.devices = await this.loadAll();
      this.pending = this.devices.map((_, i) => i);
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
    return this.outcomes.result(this.input, this.devices);
  }

  /** The batch's devices, in chunks of LOAD_CHUNK (one call for a batch of up to 1,000). */
  private async loadAll(): Promise<DeviceTarget[]> {
    const { fleet, start, count } = this.input;
    const devices: DeviceTarget[] = [];
    for (let offset = 0; offset < count; offset += LOAD_CHUNK)
      devices.push(...(await loadDevices(fleet, start + offset, Math.min(LOAD_CHUNK, count - offset))));
    return devices;
  }

  private async pushAll(): Promise<void> {
    for (;;) {
      this.startQueuedRetries();
      while (this.freeUnits() > 0 && this.pending.length > 0 && !this.stopReason) {
        const due = this.dueNow();
        if (due === 0) break;
        if (this.fast) this.startGroup(due);
        else if (this.pendingPushes >= MAX_PENDING_PUSHES) break;
        else this.startPush(this.pending.shift()!, 0, 0, this.takeSlots(1)?.notBefore);
      }
      if (this.stopReason || (this.pending.length === 0 && this.inFlight === 0)) return;
      if (this.shouldReportNow()) await this.report({});
      const wait = this.rateWaitMs();
      if (wait === undefined) await condition(() => this.changed);
      else await condition(() => this.changed, wait);
      this.changed = false;
    }
  }

  /**
   * Devices whose start slot falls within the lookahead (Infinity without a rate limit). Slots
   * are 1/rate apart (a little more: see RATE_MARGIN); each push waits for its slot in the
   * activity, so the devices see the pace, not the jitter of dispatching activities. A batch
   * that fell behind restarts a little ahead of now rather than bursting to catch up.
   */
  private dueNow(): number {
    const rate = this.grant.rate;
    if (rate === undefined) return Number.POSITIVE_INFINITY;
    if (!(rate > 0)) return 0;
    const now = workflowNow();
    this.nextSlot = Math.max(this.nextSlot, now + RATE_LEAD_MS, this.grant.rateAfter ?? 0);
    const horizon = now + RATE_LOOKAHEAD_MS;
    if (this.nextSlot > horizon) return 0;
    return Math.floor((horizon - this.nextSlot) / this.slotInterval(rate)) + 1;
  }

  private slotInterval(rate: number): number {
    return (1000 / rate) * RATE_MARGIN;
  }

  /** Takes `devices` start slots; returns when the first may start and how far apart they are. */
  private takeSlots(devices: number): { notBefore: number; intervalMs: number } | undefined {
    const rate = this.grant.rate;
    if (rate === undefined || !(rate > 0)) return undefined;
    const slot = { notBefore: this.nextSlot, intervalMs: this.slotInterval(rate) };
    this.nextSlot += devices * slot.intervalMs;
    return slot;
  }

  /** How long to sleep until the next slot enters the lookahead, when only the rate holds devices back. */
  private rateWaitMs(): number | undefined {
    const rate = this.grant.rate;
    if (rate === undefined || !(rate > 0) || this.pending.length === 0 || this.freeUnits() <= 0)
      return undefined;
    return Math.max(RATE_TICK_MS, this.nextSlot - RATE_LOOKAHEAD_MS - workflowNow());
  }

  /** Pushes that may start now: free slots, and failure permits left (failed + in flight < permits). */
  private freeUnits(): number {
    return Math.min(
      this.grant.slots - this.inFlight,
      this.grant.permits - this.outcomes.failedCount - this.inFlight,
    );
  }

  private startPush(index: number, attemptsMade = 0, delayMs = 0, notBefore?: number): void {
    const device = this.devices[index]!;
    const verify = this.verifyFor([device]);
    const push = pushActivity(this.input.settings, device.id, attemptsMade, verify.verify !== undefined);
    const { rolloutId, artifact, settings } = this.input;
    this.pendingPushes += 1;
    this.track(
      this.pushes.run(async () => {
        if (delayMs > 0) await sleep(delayMs);
        return await push({
          rolloutId,
          device,
          artifact,
          attemptTimeoutMs: settings.attemptTimeoutMs,
          ...(attemptsMade > 0 ? { attemptOffset: attemptsMade } : {}),
          ...(notBefore === undefined ? {} : { notBefore }),
          ...verify,
        });
      }),
      1,
      (result: PushResult) => this.outcomes.succeeded(index, result.attempt, result.status),
      (err) => this.recordFailure(index, device.id, err),
      () => (this.pendingPushes -= 1),
    );
  }

  /** `{ verify }` for these devices' pushes when the rollout verifies (any has a status URL). */
  private verifyFor(devices: DeviceTarget[]): { verify?: VerifySpec } {
    const { verifyUrl, verifyTimeoutMs, verifyIntervalMs } = this.input.settings;
    if (verifyUrl === undefined && !devices.some((d) => d.statusUrl !== undefined)) return {};
    return {
      verify: {
        ...(verifyUrl === undefined ? {} : { urlTemplate: verifyUrl }),
        timeoutMs: verifyTimeoutMs ?? DEFAULT_SETTINGS.verifyTimeoutMs ?? 0,
        intervalMs: verifyIntervalMs ?? DEFAULT_SETTINGS.verifyIntervalMs ?? 0,
      },
    };
  }

  /**
   * Fast path: first attempts for the next devices in one activity holding `units` of our
   * budget. Under a rate limit a group holds only the devices due now, so the rate holds.
   */
  private startGroup(due: number): void {
    const size = this.groupSize(due);
    const units = Math.min(this.freeUnits(), size);
    const indexes = this.pending.splice(0, size);
    const pace = this.takeSlots(size);
    const devices = indexes.map((i) => this.devices[i]!);
    const label = `${devices[0]!.id}…${devices.at(-1)!.id}`;
    const verify = this.verifyFor(devices);
    const push = pushGroupActivity(
      this.input.settings,
      label,
      devices.length,
      units,
      verify.verify !== undefined,
    );
    const { rolloutId, artifact, settings } = this.input;
    this.track(
      this.pushes.run(() =>
        push({
          rolloutId,
          artifact,
          attemptTimeoutMs: settings.attemptTimeoutMs,
          devices,
          units,
          ...(pace === undefined ? {} : { pace }),
          ...verify,
        }),
      ),
      units,
      (result: PushGroupResult) => this.recordGroup(indexes, result),
      (err) => {
        // The group could not run (its retries ran out): its devices go back, one activity each.
        log.warn('group push failed; pushing its devices one by one', {
          error: describeFailure(err).message,
        });
        this.fast = false;
        this.pending.unshift(...indexes);
      },
    );
  }

  /** Devices in the next group: rounds of its units, within the caps above. */
  private groupSize(due: number): number {
    if (!patched('fast-groups-v2')) {
      const limit = Math.min(this.pending.length, GROUP_MAX, due);
      return Math.min(limit, Math.max(GROUP_MIN, 10 * this.freeUnits()));
    }
    const limit = Math.min(this.pending.length, GROUP_MAX_V2, due);
    const wanted = Math.min(limit, Math.max(GROUP_MIN, 20 * this.freeUnits()));
    let bytes = 0;
    for (let n = 0; n < wanted; n++) {
      bytes += deviceBytes(this.devices[this.pending[n]!]!);
      if (bytes > GROUP_BYTES) return Math.max(1, n);
    }
    return wanted;
  }

  private track<T>(
    work: Promise<T>,
    units: number,
    ok: (value: T) => void,
    failed: (err: unknown) => void,
    settled?: () => void,
  ): void {
    this.inFlight += units;
    void work.then(ok, failed).finally(() => {
      this.inFlight -= units;
      settled?.();
      this.changed = true;
    });
  }

  private recordGroup(indexes: number[], { results }: PushGroupResult): void {
    const seen = new Set<number>();
    for (const r of results) {
      const index = indexes[r.i]!;
      seen.add(r.i);
      this.recordGroupDevice(index, r);
    }
    // Devices the group did not start (out of units, or stopped) go back to the front.
    this.pending.unshift(...indexes.filter((_, i) => !seen.has(i)));
  }

  private recordGroupDevice(index: number, r: GroupDeviceResult): void {
    const id = this.devices[index]!.id;
    const { settings } = this.input;
    if (r.outcome === 'succeeded') this.outcomes.succeeded(index, r.attempt, r.status);
    else if (r.outcome === 'aborted') this.outcomes.aborted(index, r.attempt);
    else if (r.outcome === 'failed' || r.attempt >= settings.maxAttempts) {
      this.outcomes.failed(index, id, {
        errorType: r.errorType ?? 'Error',
        message: r.message ?? 'failed',
        attempts: r.attempt,
        ...(r.status === undefined ? {} : { status: r.status }),
      });
    } else {
      // Retried like the per-device path would: after the Retry-After or the first backoff
      // step, counted from the failed attempt (the group may have run on a while after it).
      const delay = r.retryDelayMs ?? settings.initialIntervalMs;
      const waited = r.failedAt === undefined ? 0 : Math.max(0, workflowNow() - r.failedAt);
      this.retryLater(index, r.attempt, Math.max(0, delay - waited));
    }
    this.checkFatal();
  }

  private recordFailure(index: number, id: string, err: unknown): void {
    if (isCancellation(err)) this.outcomes.aborted(index);
    else this.outcomes.failed(index, id, describeFailure(err));
    this.checkFatal();
  }

  /** The artifact itself is wrong: no other device should get it. Tell the rollout at once. */
  private checkFatal(): void {
    if (this.outcomes.fatal && !this.stopReason) this.stop('halted');
  }

  private stop(reason: 'halted' | 'cancelled'): void {
    this.stopReason = reason;
    this.pushes.cancel();
    // Queued retries never started: like a retry cancelled during its backoff, they are aborted.
    for (const r of this.retries.splice(0)) {
      this.outcomes.aborted(r.index, r.attemptsMade);
      this.inFlight -= 1;
    }
  }

  /**
   * A group's device that failed retryably continues as a per-device activity; past
   * MAX_PENDING_PUSHES it waits in a queue, still holding its unit, until one settles.
   */
  private retryLater(index: number, attemptsMade: number, delayMs: number): void {
    if (this.pendingPushes < MAX_PENDING_PUSHES) return this.startPush(index, attemptsMade, delayMs);
    // Stopped already: the queue was emptied, nothing would ever start it.
    if (this.stopReason) return this.outcomes.aborted(index, attemptsMade);
    this.retries.push({ index, attemptsMade, dueAt: workflowNow() + delayMs });
    this.inFlight += 1;
  }

  private startQueuedRetries(): void {
    while (this.retries.length > 0 && this.pendingPushes < MAX_PENDING_PUSHES && !this.stopReason) {
      const r = this.retries.shift()!;
      this.inFlight -= 1;
      this.startPush(r.index, r.attemptsMade, Math.max(0, r.dueAt - workflowNow()));
    }
  }

  /** Report when the rollout must act: out of failure permits, or holding slots it cannot use. */
  private shouldReportNow(): boolean {
    if (this.outcomes.finished === this.lastReported) return false;
    const remaining = this.pending.length;
    const starved =
      remaining > 0 &&
      this.inFlight < this.grant.slots &&
      this.outcomes.failedCount + this.inFlight >= this.grant.permits;
    const unused = this.grant.slots - (this.inFlight + remaining);
    // Under a rate limit slots sit idle by design: report only when the rate can pass on.
    const idle =
      this.grant.rate === undefined
        ? unused >= Math.max(1, Math.floor(this.grant.slots / 4))
        : remaining === 0 && unused > 0;
    return starved || idle || this.outcomes.fatal !== undefined;
  }

  private async reportPeriodically(): Promise<void> {
    for (;;) {
      await condition(() => this.outcomes.finished !== this.lastReported);
      await sleep(REPORT_INTERVAL_MS);
      if ((this.stopReason || this.pending.length === 0) && this.inFlight === 0) return;
      if (this.outcomes.finished !== this.lastReported) await this.report({});
    }
  }

  private async report(extra: Partial<Pick<BatchReport, 'done' | 'error'>>): Promise<void> {
    this.lastReported = this.outcomes.finished;
    const remaining = this.devices.length === 0 ? this.input.count : this.pending.length;
    const report: BatchReport = {
      ...this.outcomes.report(this.input.batch, this.inFlight, remaining, extra),
      ...(this.nextSlot > 0 ? { rateClock: this.nextSlot } : {}),
    };
    try {
      await getExternalWorkflowHandle(this.input.rolloutId).signal(batchReportSignal, report);
    } catch (err) {
      // The rollout is gone (terminated): an orphaned batch must not go on pushing.
      log.warn('rollout unreachable; stopping batch', { batch: this.input.batch, error: String(err) });
      if (!this.stopReason) this.stop('cancelled');
    }
  }
}

/** Size of a device record in an activity's input (JSON), roughly. */
function deviceBytes(device: DeviceTarget): number {
  return JSON.stringify(device).length + 1;
}
