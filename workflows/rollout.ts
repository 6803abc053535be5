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
 *
 * Operator control: waves run one after the other (a batch never straddles two), each followed
 * by an optional bake and approval gate; pause (by signal, or by the breaker with `--on-breaker
 * pause`) takes every batch's slots away so in-flight pushes finish and nothing new starts;
 * `setUpdate` changes rate, max in flight and threshold live, and the next allocation applies
 * them. All of it is state carried across continue-as-new.
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
  metricMeter,
  ParentClosePolicy,
  patched,
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
import { workflowNow } from './clock.js';
import { failureHeadroom, isTripped, tripReason } from './breaker.js';
import type { BatchControl, BatchReport, RolloutInput, RolloutReport } from './definitions.js';
import type { SettingsChangeResult, WaitState, WaveProgress } from './definitions.js';
import {
  approveSignal,
  batchControlSignal,
  batchReportSignal,
  batchWorkflowId,
  pauseSignal,
  progressQuery,
  promoteSignal,
  REPORT_MEMO_KEY,
  resumeSignal,
  RolloutStatus,
  SearchAttribute,
  setUpdate,
} from './definitions.js';
import { allocate } from './allocation.js';
import type { WavePlan } from './plan.js';
import { batchRange, makePlan, wavesOf } from './plan.js';
import type { ProgressView } from './report.js';
import { buildProgress, buildReport, detailsMarkdown } from './report.js';
import type { BreakerBase, PauseState, RolloutCarry, StopState } from './rollout-state.js';
import { applyReport, breakerCounts, initialState, newBatch, since, totals } from './rollout-state.js';
import type { RolloutSettings, SettingsChange } from './settings.js';
import { applyChange, BreakerAction, PushMode, validateSettings } from './settings.js';

const { freezeFleet, checkArtifact } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    maximumAttempts: 5,
    nonRetryableErrorTypes: [
      FailureType.InvalidFleet,
      FailureType.ArtifactChanged,
      FailureType.ArtifactUnreadable,
    ],
  },
});

/**
 * Patch: rollouts check their artifact before freezing the fleet. Rollouts started before it
 * replay without the check (their history has no such activity); remove the branch with
 * `deprecatePatch` once none of them runs any more.
 */
const CHECK_ARTIFACT_AT_START = 'check-artifact-at-start';

/** Batches running at once, whatever the in-flight cap (bounds pending children and state). */
const MAX_ACTIVE_BATCHES = 20;
/** Batches pushing at once in fast mode (see allocation.ts `spread`). */
const FAST_MODE_SPREAD = 2;
/** Continue-as-new here even if the server has not suggested it yet (10,240 is the warning). */
const MAX_EVENTS_PER_RUN = 8000;
/** ETA from the pace over this window. */
const PACE_WINDOW_MS = 30_000; // 30 s

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
  setHandler(pauseSignal, (request) => rollout.pause('operator', request?.reason ?? 'paused by an operator'));
  setHandler(resumeSignal, () => rollout.resume());
  setHandler(approveSignal, () => rollout.approve());
  setHandler(promoteSignal, () => rollout.promote());
  setHandler(setUpdate, (change) => rollout.change(change), {
    validator: (change: SettingsChange) => rollout.validateChange(change),
  });
  return await rollout.run();
}

/** Freezes the fleet: later edits to the file cannot change a running rollout. */
async function startState(input: RolloutInput): Promise<RolloutCarry> {
  if (patched(CHECK_ARTIFACT_AT_START)) await checkArtifact(input.artifact);
  const fleet = await freezeFleet(input.fleet);
  const plan = makePlan(fleet.count, input.settings.batchSize, input.settings.waves ?? []);
  return initialState(fleet, plan, new Date().toISOString());
}

class Rollout {
  private readonly id = workflowInfo().workflowId;
  private dirty = true;
  private lastPublished = '';
  /** Live settings: the input's, as `setUpdate` changed them. */
  private settings: RolloutSettings;
  /** (time, devices done) samples for the ETA; not carried (a new run measures anew). */
  private readonly pace: Array<[number, number]> = [];

  constructor(
    private readonly input: RolloutInput,
    private readonly state: RolloutCarry,
  ) {
    this.settings = { ...input.settings };
  }

  onReport(report: BatchReport): void {
    if (!applyReport(this.state, report)) return;
    this.dirty = true;
    if (this.state.stop) return;
    if (report.error !== undefined) this.stop('halted', `batch ${report.batch} failed: ${report.error}`);
    else if (report.fatal) this.stop('halted', `${report.fatal.errorType}: ${report.fatal.message}`);
    else this.checkBreaker();
  }

  progress(): ReturnType<typeof buildProgress> {
    return buildProgress(this.id, this.status(), this.state, this.view());
  }

  pause(by: PauseState['by'], reason: string): void {
    if (this.state.stop || this.status() === RolloutStatus.Completed) return;
    // A breaker trip during an operator's pause takes it over: resuming then acknowledges it.
    if (this.state.pause && !(by === 'breaker' && this.state.pause.by === 'operator')) return;
    this.state.pause = { by, reason };
    this.dirty = true;
    log.info('rollout paused', { by, reason });
  }

  resume(): void {
    const paused = this.state.pause;
    if (!paused) return;
    if (paused.by === 'breaker') {
      // The operator has seen the failures: the breaker's window restarts from here.
      const now = breakerCounts(totals(this.state), undefined);
      this.state.breakerBase = now;
      this.state.waveBreakerBase = now;
    }
    this.state.pause = null;
    this.dirty = true;
    log.info('rollout resumed', { after: paused.by });
  }

  /** Ends the gate after the current wave (bake and approval alike). */
  approve(): void {
    if (!this.state.gate) return;
    this.nextWave();
    this.dirty = true;
  }

  /** Ends the current bake now (an approval gate still waits). */
  promote(): void {
    const gate = this.state.gate;
    if (gate?.kind !== 'bake') return;
    gate.until = workflowNow();
    this.dirty = true;
  }

  validateChange(change: SettingsChange): void {
    if (this.state.stop) throw new Error(`rollout is ${this.state.stop.status}; nothing to change`);
    const { problems } = applyChange(this.settings, change);
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.setting} ${p.message}`).join('; '));
  }

  change(change: SettingsChange): SettingsChangeResult {
    this.settings = applyChange(this.settings, change).settings;
    this.dirty = true;
    log.info('rollout settings changed', { ...change });
    // A lower threshold may already be exceeded.
    if (!this.state.stop) this.checkBreaker();
    return this.live();
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
    if (this.state.nextBatch >= this.state.plan.batches && this.state.active.length === 0)
      return RolloutStatus.Completed;
    if (this.state.pause) return RolloutStatus.Paused;
    if (this.state.gate) return RolloutStatus.Waiting;
    return RolloutStatus.Running;
  }

  private async drive(): Promise<void> {
    for (;;) {
      if (this.state.stop) return await this.drain();
      this.advanceWaves();
      await this.schedule();
      this.publish();
      if (this.status() === RolloutStatus.Completed) return;
      if (this.historyIsLong()) await this.continueAsNew();
      const bake = this.state.gate?.kind === 'bake' ? this.state.gate.until : undefined;
      if (bake === undefined) await condition(() => this.dirty);
      else await condition(() => this.dirty, Math.max(1, bake - workflowNow()));
      this.dirty = false;
    }
  }

  // ---- waves -------------------------------------------------------------------------------

  private waves(): WavePlan[] {
    return wavesOf(this.state.plan);
  }

  private waveIndex(): number {
    return this.state.wave ?? 0;
  }

  /** The current wave has started and finished all its batches. */
  private waveDone(): boolean {
    const wave = this.waves()[this.waveIndex()];
    const end = wave ? wave.firstBatch + wave.batches : this.state.plan.batches;
    return this.state.nextBatch >= end && this.state.active.length === 0;
  }

  /** Opens the gate after a finished wave, or moves on to the next wave once the gate allows. */
  private advanceWaves(): void {
    const { state, settings } = this;
    const last = this.waves().length - 1;
    while (!state.stop && !state.pause && this.waveIndex() < last && this.waveDone()) {
      const gate = state.gate;
      if (!gate) {
        const wave = this.waveIndex();
        if ((settings.bakeMs ?? 0) > 0)
          state.gate = { kind: 'bake', wave, until: workflowNow() + (settings.bakeMs ?? 0) };
        else if (settings.approveWaves) state.gate = { kind: 'approval', wave };
        else this.nextWave();
        if (state.gate) log.info('wave finished; gate open', { wave: wave + 1, gate: state.gate.kind });
      } else if (gate.kind === 'bake' && workflowNow() >= (gate.until ?? 0)) {
        if (settings.approveWaves) state.gate = { kind: 'approval', wave: gate.wave };
        else this.nextWave();
      } else return;
    }
  }

  private nextWave(): void {
    const { state } = this;
    const counts = totals(state);
    (state.waveCounts ??= []).push(since(counts, state.waveBase));
    state.wave = this.waveIndex() + 1;
    state.waveBase = { succeeded: counts.succeeded, failed: counts.failed, aborted: counts.aborted };
    state.waveBreakerBase = breakerCounts(counts, undefined);
    state.gate = null;
    log.info('wave starting', { wave: state.wave + 1, of: this.waves().length });
  }

  // ---- breaker -----------------------------------------------------------------------------

  /** Rollout-wide breaker: counts since its last acknowledgement, the rollout's threshold. */
  private rolloutBreaker(): { counts: BreakerBase; settings: RolloutSettings } {
    return { counts: breakerCounts(totals(this.state), this.state.breakerBase), settings: this.settings };
  }

  /**
   * The current wave's breaker (only with more than one wave): its own threshold or the
   * rollout's, judged on the wave's devices alone, with min-samples capped at the wave's size
   * so a 10-device canary is judged once its 10 devices are done.
   */
  private waveBreaker(): { counts: BreakerBase; settings: RolloutSettings; wave: number } | undefined {
    const waves = this.waves();
    const wave = waves[this.waveIndex()];
    if (!wave || waves.length < 2) return undefined;
    const base = this.state.waveBreakerBase ?? this.state.breakerBase;
    return {
      counts: breakerCounts(totals(this.state), base),
      settings: {
        ...this.settings,
        failureThreshold: wave.failureThreshold ?? this.settings.failureThreshold,
        minSamples: Math.min(this.settings.minSamples, wave.end - wave.start),
      },
      wave: this.waveIndex() + 1,
    };
  }

  private tripReason(): string | null {
    const rollout = this.rolloutBreaker();
    if (isTripped(rollout.counts, rollout.settings)) return tripReason(rollout.counts, rollout.settings);
    const wave = this.waveBreaker();
    if (wave && isTripped(wave.counts, wave.settings))
      return `wave ${wave.wave}: ${tripReason(wave.counts, wave.settings)}`;
    return null;
  }

  /**
   * Fast mode lets neighbouring batches push at once, for throughput, when that cannot put a
   * device before a higher-priority one: only in a fleet of one priority. With several, a batch
   * starts when the one before it has finished its first attempts, as in per-device mode.
   */
  private spread(): number {
    if (this.settings.mode !== PushMode.Fast) return 1;
    return (this.state.fleet.priorityLevels ?? 1) <= 1 ? FAST_MODE_SPREAD : 1;
  }

  private headroom(): number {
    const rollout = this.rolloutBreaker();
    const wave = this.waveBreaker();
    const headroom = failureHeadroom(rollout.counts, rollout.settings);
    return wave ? Math.min(headroom, failureHeadroom(wave.counts, wave.settings)) : headroom;
  }

  private checkBreaker(): void {
    if (this.state.pause?.by === 'breaker') return;
    const reason = this.tripReason();
    if (reason === null) return;
    // Emitted once: the SDK's workflow meter stays silent while replaying.
    metricMeter
      .createCounter('rollout_breaker_trips', '', 'Circuit-breaker trips, by the action taken')
      .add(1, { action: this.settings.onBreaker ?? BreakerAction.Halt });
    if (this.settings.onBreaker === BreakerAction.Pause) this.pause('breaker', `breaker tripped: ${reason}`);
    else this.stop('halted', reason);
  }

  // ---- scheduling --------------------------------------------------------------------------

  /** Hands out slots and permits, and starts the batches they allow (none while paused or gated). */
  private async schedule(): Promise<void> {
    const { state } = this;
    if (state.pause || state.gate) {
      // Nothing new starts; pushes in flight finish.
      for (const batch of state.active) {
        if (batch.grant.slots === 0) continue;
        batch.grant = { ...batch.grant, slots: 0 };
        this.control(batch.batch, { grant: batch.grant });
      }
      return;
    }
    const wave = this.waves()[this.waveIndex()];
    const waveEnd = wave ? wave.firstBatch + wave.batches : state.plan.batches;
    const pending: number[] = [];
    for (let b = state.nextBatch; b < waveEnd && pending.length < MAX_ACTIVE_BATCHES; b++) {
      pending.push(batchRange(state.plan, b).count);
    }
    const allocation = allocate({
      active: state.active,
      pending,
      maxInFlight: this.settings.maxInFlight,
      maxActiveBatches: MAX_ACTIVE_BATCHES,
      spread: this.spread(),
      headroom: this.headroom(),
      rate: this.settings.rate ?? 0,
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
            settings: this.settings,
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
    const limit = this.settings.maxEventsPerRun ?? MAX_EVENTS_PER_RUN;
    return info.continueAsNewSuggested || info.historyLength >= limit;
  }

  private async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    const carry: RolloutCarry = { ...this.state, run: this.state.run + 1 };
    return await continueAsNew<typeof rolloutWorkflow>({ ...this.input, settings: this.settings, carry });
  }

  /** Keeps the Web UI current: details every time, search attributes when they move. */
  private publish(final = false): void {
    const counts = totals(this.state);
    this.samplePace(counts.succeeded + counts.failed + counts.aborted);
    const progress = this.progress();
    setCurrentDetails(detailsMarkdown(progress));
    const done = progress.succeeded + progress.failed + progress.aborted;
    const percent = progress.total === 0 ? 100 : Math.floor((100 * done) / progress.total);
    const key = `${progress.status}:${percent}`;
    if (key === this.lastPublished && !final) return;
    this.lastPublished = key;
    upsertSearchAttributes([
      { key: SearchAttribute.id, value: this.id },
      { key: SearchAttribute.status, value: progress.status },
      { key: SearchAttribute.progress, value: percent },
      { key: SearchAttribute.failed, value: progress.failed },
    ]);
  }

  // ---- progress ----------------------------------------------------------------------------

  private live(): SettingsChangeResult {
    const { rate = 0, maxInFlight, failureThreshold } = this.settings;
    return { rate, maxInFlight, failureThreshold };
  }

  private view(): ProgressView {
    const reason = this.tripReason();
    const paused = this.state.pause;
    const breaker =
      paused?.by === 'breaker'
        ? { tripped: true, reason: paused.reason }
        : { tripped: reason !== null, reason };
    const waves = this.waves();
    return {
      breaker,
      waves: { current: Math.min(this.waveIndex() + 1, waves.length), list: this.waveList(waves) },
      waitingFor: this.waitingFor(),
      live: this.live(),
      etaSeconds: this.eta(),
    };
  }

  private waveList(waves: WavePlan[]): WaveProgress[] {
    const current = this.waveIndex();
    const zero = { succeeded: 0, failed: 0, aborted: 0 };
    return waves.map((w, i) => {
      const counts =
        i < current
          ? (this.state.waveCounts?.[i] ?? zero)
          : i === current
            ? since(totals(this.state), this.state.waveBase)
            : zero;
      const state =
        i < current || (i === current && this.waveDone()) ? 'done' : i === current ? 'running' : 'pending';
      return {
        wave: i + 1,
        devices: w.end - w.start,
        failureThreshold: w.failureThreshold ?? null,
        state,
        ...counts,
      };
    });
  }

  private waitingFor(): WaitState | null {
    const { pause, gate, stop } = this.state;
    if (stop) return null;
    const wave = this.waveIndex() + 1;
    if (pause) {
      return {
        kind: 'resume',
        wave,
        message: `resume (\`rollout resume ${this.id}\`) — ${pause.reason}`,
      };
    }
    if (gate?.kind === 'bake') {
      const until = new Date(gate.until ?? 0).toISOString();
      return {
        kind: 'bake',
        wave: gate.wave + 1,
        until,
        message: `wave ${gate.wave + 1} to bake until ${until} (\`rollout promote ${this.id}\` ends the bake now)`,
      };
    }
    if (gate?.kind === 'approval') {
      return {
        kind: 'approval',
        wave: gate.wave + 1,
        message: `approval to start wave ${gate.wave + 2} of ${this.waves().length} after wave ${gate.wave + 1} (\`rollout approve ${this.id}\`)`,
      };
    }
    return null;
  }

  /** Seconds to the end at the pace of the last 30 s; null while waiting or without a pace. */
  private eta(): number | null {
    const first = this.pace[0];
    const last = this.pace.at(-1);
    if (!first || !last || last[0] <= first[0] || this.status() !== RolloutStatus.Running) return null;
    const perMs = (last[1] - first[1]) / (last[0] - first[0]);
    if (perMs <= 0) return null;
    return Math.round((this.state.plan.total - last[1]) / perMs / 1000);
  }

  private samplePace(done: number): void {
    const now = workflowNow();
    const last = this.pace.at(-1);
    if (last && now - last[0] < 1000) return;
    this.pace.push([now, done]);
    while (this.pace.length > 2 && now - this.pace[0]![0] > PACE_WINDOW_MS) this.pace.shift();
  }

  private finish(): RolloutReport {
    const report = buildReport(
      this.progress(),
      this.state,
      { ...this.input, settings: this.settings },
      new Date(),
    );
    this.publish(true);
    upsertMemo({ [REPORT_MEMO_KEY]: report });
    return report;
  }
}
