/**
 * The rollout's bookkeeping: what it knows of every batch, folded from their reports. Pure: no
 * Temporal import. The whole state is carried across continue-as-new, so it stays small: the
 * running batches (bounded) and totals of the finished ones.
 */
import type { BatchView } from './allocation.js';
import type { BatchGrant, BatchReport, DeviceCounts, FailureSample, FrozenFleet } from './definitions.js';
import { MAX_FAILURE_SAMPLES } from './definitions.js';
import type { Plan } from './plan.js';

/** A running batch: its slice, its grant and its latest report. */
export interface BatchState extends BatchView, DeviceCounts {
  start: number;
  failuresByType: Record<string, number>;
}

/** Why the rollout stops early. */
export interface StopState {
  status: 'halted' | 'cancelled';
  reason: string;
}

/** Between two waves: a bake (until a time) or an approval gate. */
export interface GateState {
  kind: 'bake' | 'approval';
  /** 0-based index of the wave that just finished. */
  wave: number;
  /** End of the bake, workflow time in ms. */
  until?: number;
}

/** Why no new push starts until `resume`. */
export interface PauseState {
  by: 'operator' | 'breaker';
  reason: string;
}

/** Counts the breaker has acknowledged: it judges only what came after them. */
export interface BreakerBase {
  failed: number;
  finished: number;
}

/** Serializable state carried across continue-as-new. */
export interface RolloutCarry {
  /** Continue-as-new generation (0 = first run). */
  run: number;
  startedAt: string;
  fleet: FrozenFleet;
  plan: Plan;
  nextBatch: number;
  /** Totals of finished batches. */
  closed: DeviceCounts & { batches: number };
  failuresByType: Record<string, number>;
  active: BatchState[];
  samples: FailureSample[];
  stop: StopState | null;
  // Added with waves and operator control; absent in carries recorded before them.
  /** 0-based wave now running (or whose gate is open). */
  wave?: number;
  /** Counts when the current wave began. */
  waveBase?: DeviceCounts;
  /** Final counts of finished waves, in order. */
  waveCounts?: DeviceCounts[];
  /** What the rollout-wide breaker has acknowledged (a resume after a breaker pause). */
  breakerBase?: BreakerBase;
  /** What the current wave's breaker has acknowledged (the wave's start, or a later resume). */
  waveBreakerBase?: BreakerBase;
  gate?: GateState | null;
  pause?: PauseState | null;
}

/** Counts minus a snapshot taken earlier. */
export function since(now: DeviceCounts, base: DeviceCounts | undefined): DeviceCounts {
  if (!base) return { succeeded: now.succeeded, failed: now.failed, aborted: now.aborted };
  return {
    succeeded: now.succeeded - base.succeeded,
    failed: now.failed - base.failed,
    aborted: now.aborted - base.aborted,
  };
}

/** The breaker's view of counts: failures and finished devices after an acknowledged base. */
export function breakerCounts(now: DeviceCounts, base: BreakerBase | undefined): BreakerBase {
  return {
    failed: now.failed - (base?.failed ?? 0),
    finished: now.succeeded + now.failed - (base?.finished ?? 0),
  };
}

export function initialState(fleet: FrozenFleet, plan: Plan, startedAt: string): RolloutCarry {
  return {
    run: 0,
    startedAt,
    fleet,
    plan,
    nextBatch: 0,
    closed: { succeeded: 0, failed: 0, aborted: 0, batches: 0 },
    failuresByType: {},
    active: [],
    samples: [],
    stop: null,
    wave: 0,
    waveCounts: [],
    gate: null,
    pause: null,
  };
}

export function newBatch(batch: number, start: number, count: number, grant: BatchGrant): BatchState {
  return {
    batch,
    start,
    count,
    grant,
    succeeded: 0,
    failed: 0,
    aborted: 0,
    inFlight: 0,
    remaining: count,
    failuresByType: {},
  };
}

/**
 * Folds a batch's (cumulative) report into the state. A final report moves the batch's counts
 * to the closed totals. Returns false for a report from a batch that is not running (a late
 * duplicate), which is ignored.
 */
export function applyReport(state: RolloutCarry, report: BatchReport): boolean {
  const index = state.active.findIndex((b) => b.batch === report.batch);
  const batch = state.active[index];
  if (batch === undefined) return false;
  Object.assign(batch, {
    succeeded: report.succeeded,
    failed: report.failed,
    aborted: report.aborted,
    inFlight: report.inFlight,
    remaining: report.remaining,
    failuresByType: report.failuresByType,
    ...(report.rateClock === undefined ? {} : { rateClock: report.rateClock }),
  });
  if (!report.done) return true;
  state.active.splice(index, 1);
  state.closed.succeeded += report.succeeded;
  state.closed.failed += report.failed;
  state.closed.aborted += report.aborted;
  state.closed.batches += 1;
  for (const [type, n] of Object.entries(report.failuresByType)) {
    state.failuresByType[type] = (state.failuresByType[type] ?? 0) + n;
  }
  for (const sample of report.samples ?? []) {
    if (state.samples.length < MAX_FAILURE_SAMPLES) state.samples.push(sample);
  }
  return true;
}

/** Counts over finished and running batches. */
export function totals(state: RolloutCarry): DeviceCounts & { inFlight: number; notAttempted: number } {
  const sum = { ...state.closed, inFlight: 0 };
  for (const b of state.active) {
    sum.succeeded += b.succeeded;
    sum.failed += b.failed;
    sum.aborted += b.aborted;
    sum.inFlight += b.inFlight;
  }
  const notAttempted = state.plan.total - sum.succeeded - sum.failed - sum.aborted - sum.inFlight;
  return {
    succeeded: sum.succeeded,
    failed: sum.failed,
    aborted: sum.aborted,
    inFlight: sum.inFlight,
    notAttempted,
  };
}

/** Failures by type over finished and running batches. */
export function failuresByType(state: RolloutCarry): Record<string, number> {
  const merged = { ...state.failuresByType };
  for (const b of state.active) {
    for (const [type, n] of Object.entries(b.failuresByType)) merged[type] = (merged[type] ?? 0) + n;
  }
  return merged;
}
