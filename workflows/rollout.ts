/**
 * `rolloutWorkflow` rolls one artifact out to one fleet: it freezes the fleet, cuts it into
 * priority-ordered batches, runs them as child workflows within a rollout-wide in-flight cap,
 * trips the circuit breaker on device results as they arrive, and ends `completed`, `halted`
 * (workflow failure of type `RolloutHalted`, report in its details) or cancelled.
 *
 * Why batches are abandoned children that report by signal: the rollout continues-as-new when
 * its history grows, and a parent's close policy would also fire on continue-as-new. With
 * ABANDON, batches outlive a run and keep reporting to the rollout's workflow id, which is
 * always the latest run; stopping them is explicit (a `stop` signal on halt or cancel), and a
 * batch whose rollout has vanished stops itself.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { FailureType } from '../shared/failure-types.js';
import { batchWorkflow } from './batch.js';
import { failureHeadroom, isTripped, tripReason } from './breaker.js';
import type { BatchControl, BatchReport, RolloutInput, RolloutReport } from './definitions.js';
import {
  batchControlSignal,
  batchReportSignal,
  batchWorkflowId,
  progressQuery,
  REPORT_MEMO_KEY,
  RolloutStatus,
  SearchAttribute,
} from './definitions.js';
import { allocate } from './allocation.js';
import { batchRange, makePlan } from './plan.js';
import { buildProgress, buildReport, detailsMarkdown } from './report.js';
import type { RolloutCarry, StopState } from './rollout-state.js';
import { applyReport, initialState, newBatch, totals } from './rollout-state.js';
import { PushMode, validateSettings } from './settings.js';

const { freezeFleet } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [FailureType.InvalidFleet] },
});

/** Batches running at once, whatever the in-flight cap (bounds pending children and state). */
const MAX_ACTIVE_BATCHES = 20;
/** Batches pushing at once in fast mode (see allocation.ts `spread`). */
const FAST_MODE_SPREAD = 2;
/** Continue-as-new here even if the server has not suggested it yet (10,240 is the warning). */
const MAX_EVENTS_PER_RUN = 8000;

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutReport> {
  const problems = validateSettings(input.settings);
  if (problems.length > 0) {
    const text = problems.map((p) => `${p.setting} ${p.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(`invalid rollout settings: ${text}`, 'InvalidSettings');
  }
  const state = input.carry ?? (await startState(input));
  const rollout = new Rollout(input, state);
  setHandler(batchReportSignal, (report) => rollout.onReport(report));
  setHandler(progressQuery, () => rollout.progress());
  return await rollout.run();
}

/** Freezes the fleet: later edits to the file cannot change a running rollout. */
async function startState(input: RolloutInput): Promise<RolloutCarry> {
  const fleet = await freezeFleet(input.fleet);
  return initialState(fleet, makePlan(fleet.count, input.settings.batchSize), new Date().toISOString());
}

class Rollout {
  private readonly id = workflowInfo().workflowId;
  private dirty = true;
  private lastPublished = '';

  constructor(
    private readonly input: RolloutInput,
    private readonly state: RolloutCarry,
  ) {}

  onReport(report: BatchReport): void {
    if (!applyReport(this.state, report)) return;
    this.dirty = true;
    if (this.state.stop) return;
    if (report.error !== undefined) this.stop('halted', `batch ${report.batch} failed: ${report.error}`);
    else if (report.fatal) this.stop('halted', `${report.fatal.errorType}: ${report.fatal.message}`);
    else {
      const counts = totals(this.state);
      const breaker = { failed: counts.failed, finished: counts.succeeded + counts.failed };
      if (isTripped(breaker, this.input.settings))
        this.stop('halted', tripReason(breaker, this.input.settings));
    }
  }

  progress(): ReturnType<typeof buildProgress> {
    return buildProgress(this.id, this.status(), this.state, this.input.settings);
  }

  async run(): Promise<RolloutReport> {
    try {
      await this.drive();
    } catch (err) {
      if (!isCancellation(err)) throw err;
      await CancellationScope.nonCancellable(async () => {
        this.stop('cancelled', 'cancelled by request');
        await this.drain();
        this.finish();
      });
      throw err;
    }
    const report = this.finish();
    if (report.status === RolloutStatus.Halted) {
      throw ApplicationFailure.create({
        type: 'RolloutHalted',
        message: `rollout halted: ${report.breaker.reason ?? 'stopped'}`,
        nonRetryable: true,
        details: [report],
      });
    }
    return report;
  }

  private status(): RolloutStatus {
    if (this.state.stop) return this.state.stop.status;
    return this.state.nextBatch >= this.state.plan.batches && this.state.active.length === 0
      ? RolloutStatus.Completed
      : RolloutStatus.Running;
  }

  private async drive(): Promise<void> {
    for (;;) {
      if (this.state.stop) return await this.drain();
      await this.schedule();
      this.publish();
      if (this.status() === RolloutStatus.Completed) return;
      if (this.historyIsLong()) await this.continueAsNew();
      await condition(() => this.dirty);
      this.dirty = false;
    }
  }

  /** Hands out slots and permits, and starts the batches they allow. */
  private async schedule(): Promise<void> {
    const { state } = this;
    const counts = totals(state);
    const pending: number[] = [];
    for (let b = state.nextBatch; b < state.plan.batches && pending.length < MAX_ACTIVE_BATCHES; b++) {
      pending.push(batchRange(state.plan, b).count);
    }
    const allocation = allocate({
      active: state.active,
      pending,
      maxInFlight: this.input.settings.maxInFlight,
      maxActiveBatches: MAX_ACTIVE_BATCHES,
      // Fast mode trades strict priority between neighbouring batches for throughput.
      spread: this.input.settings.mode === PushMode.Fast ? FAST_MODE_SPREAD : 1,
      headroom: failureHeadroom(
        { failed: counts.failed, finished: counts.succeeded + counts.failed },
        this.input.settings,
      ),
    });
    for (const batch of state.active) {
      const grant = allocation.grants.get(batch.batch);
      if (grant === undefined) continue;
      batch.grant = grant;
      this.control(batch.batch, { grant });
    }
    for (const grant of allocation.starts) await this.startBatch(grant);
  }

  private async startBatch(grant: { slots: number; permits: number }): Promise<void> {
    const { state, input } = this;
    const batch = state.nextBatch;
    const { start, count } = batchRange(state.plan, batch);
    state.active.push(newBatch(batch, start, count, grant));
    state.nextBatch += 1;
    // Outside the rollout's cancellation scope: a cancelled rollout stops its batches by
    // signal (so they report what they aborted), never through Temporal's child cancellation.
    const child = await CancellationScope.nonCancellable(() =>
      startChild(batchWorkflow, {
        workflowId: batchWorkflowId(this.id, batch),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        args: [
          {
            rolloutId: this.id,
            batch,
            fleet: state.fleet,
            start,
            count,
            artifact: input.artifact,
            settings: input.settings,
            grant,
          },
        ],
      }),
    );
    // A batch reports its own failure by signal before failing; its result is for `rollout results`.
    child.result().catch(() => undefined);
  }

  /** Signals a batch; a batch that is gone is counted as ended with what it last reported. */
  private control(batch: number, control: BatchControl): void {
    getExternalWorkflowHandle(batchWorkflowId(this.id, batch))
      .signal(batchControlSignal, control)
      .catch((err: unknown) => {
        if (isCancellation(err)) return;
        log.warn('batch unreachable; closing it with its last report', { batch, error: String(err) });
        const last = this.state.active.find((b) => b.batch === batch);
        if (last) this.onReport({ ...last, aborted: last.aborted + last.inFlight, inFlight: 0, done: true });
      });
  }

  private stop(status: StopState['status'], reason: string): void {
    if (this.state.stop) return;
    this.state.stop = { status, reason };
    this.dirty = true;
    log.info('rollout stopping', { status, reason });
  }

  /** Stops every running batch and waits for their final reports. */
  private async drain(): Promise<void> {
    const reason = this.state.stop?.status ?? 'halted';
    for (const batch of this.state.active) this.control(batch.batch, { stop: reason });
    this.publish();
    await condition(() => this.state.active.length === 0);
  }

  private historyIsLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= MAX_EVENTS_PER_RUN;
  }

  private async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    const carry: RolloutCarry = { ...this.state, run: this.state.run + 1 };
    return await continueAsNew<typeof rolloutWorkflow>({ ...this.input, carry });
  }

  /** Keeps the Web UI current: details every time, search attributes when they move. */
  private publish(final = false): void {
    const progress = this.progress();
    setCurrentDetails(detailsMarkdown(progress));
    const done = progress.succeeded + progress.failed + progress.aborted;
    const percent = progress.total === 0 ? 100 : Math.floor((100 * done) / progress.total);
    const key = `${progress.status}:${percent}`;
    if (key === this.lastPublished && !final) return;
    this.lastPublished = key;
    upsertSearchAttributes([
      { key: SearchAttribute.status, value: progress.status },
      { key: SearchAttribute.progress, value: percent },
      { key: SearchAttribute.failed, value: progress.failed },
    ]);
  }

  private finish(): RolloutReport {
    const report = buildReport(this.progress(), this.state, this.input, new Date());
    this.publish(true);
    upsertMemo({ [REPORT_MEMO_KEY]: report });
    return report;
  }
}
