/**
 * How the rollout shares its two budgets among running batches. Pure: no Temporal import.
 *
 * - Slots: at most `maxInFlight` pushes across the rollout. A batch keeps only the slots it can
 *   use (pushes in flight + devices not started); the rest go to earlier batches first, then to
 *   new batches, so a batch whose last devices are slow never holds the fleet back. The next
 *   batch starts early, without slots, so it is ready when they free up.
 * - Failure permits (see breaker.ts): outstanding permits never exceed the breaker's headroom.
 *   When no permit is free and nothing is in flight, one permit goes out as a probe, so a
 *   rollout near its threshold advances one device at a time instead of stalling.
 * - Both budgets shrink when a live change lowers them (`rollout set`): the latest batches give
 *   back what they do not use first; a push in flight is never taken back.
 * - Rate: with a devices/s limit, the first batch (in priority order) that has devices to start
 *   and slots gets all of it, the others none; when it passes on, the next batch starts no
 *   earlier than the previous one's next slot (`rateAfter`), so two batches never overlap.
 */
import type { BatchGrant } from './definitions.js';

/** What the rollout knows of one running batch (from its latest report). */
export interface BatchView {
  batch: number;
  count: number;
  grant: BatchGrant;
  failed: number;
  inFlight: number;
  /** Devices not started yet. */
  remaining: number;
  /** Its next start slot under a rate limit (from its report). */
  rateClock?: number;
}

export interface AllocationInput {
  active: readonly BatchView[];
  /** Device counts of the batches not started yet, in order. */
  pending: readonly number[];
  maxInFlight: number;
  maxActiveBatches: number;
  /**
   * While batches are still waiting, one batch gets at most `maxInFlight / spread` slots, so
   * `spread` batches push at once and one's hand-over (report, grant, next activity) never
   * idles the fleet. 1 keeps strict priority order across batches.
   */
  spread?: number;
  /** Failures the breaker can still absorb (breaker.ts `failureHeadroom`). */
  headroom: number;
  /** Devices/s the whole rollout may start; 0 or absent = no limit. */
  rate?: number;
}

export interface Allocation {
  /** New grants for running batches whose grant changed. */
  grants: Map<number, BatchGrant>;
  /** Grants for batches to start now, in order (the i-th is `pending[i]`). */
  starts: BatchGrant[];
}

interface Working {
  batch: number;
  need: number;
  slots: number;
  permits: number;
  failed: number;
  inFlight: number;
  remaining: number;
  rate?: number;
  rateAfter?: number;
  rateClock?: number;
  original?: BatchGrant;
}

export function allocate(input: AllocationInput): Allocation {
  const working: Working[] = input.active.map((b) => ({
    batch: b.batch,
    need: b.inFlight + b.remaining,
    slots: Math.min(b.grant.slots, b.inFlight + b.remaining),
    // A batch that starts nothing more can never exceed failed + inFlight: reclaim the rest.
    permits: b.remaining === 0 ? Math.min(b.grant.permits, b.failed + b.inFlight) : b.grant.permits,
    failed: b.failed,
    inFlight: b.inFlight,
    remaining: b.remaining,
    ...(b.rateClock === undefined ? {} : { rateClock: b.rateClock }),
    original: b.grant,
  }));
  shrinkSlots(working, input.maxInFlight);
  let freeSlots = input.maxInFlight - working.reduce((sum, w) => sum + w.slots, 0);
  const cap =
    input.pending.length > 0 ? Math.ceil(input.maxInFlight / (input.spread ?? 1)) : input.maxInFlight;
  for (const w of working) {
    const add = Math.max(0, Math.min(freeSlots, Math.min(w.need, cap) - w.slots));
    w.slots += add;
    freeSlots -= add;
  }
  let started = 0;
  const startNext = (slots: number): void => {
    const count = input.pending[started] ?? 0;
    working.push({ batch: -1, need: count, slots, permits: 0, failed: 0, inFlight: 0, remaining: count });
    started += 1;
  };
  while (freeSlots > 0 && started < input.pending.length && working.length < input.maxActiveBatches) {
    const slots = Math.min(freeSlots, input.pending[started] ?? 0, cap);
    startNext(slots);
    freeSlots -= slots;
  }
  // Prefetch: once every running batch has started all its devices, the next batch starts
  // without slots, so its devices are loaded by the time slots free up.
  const allStarted = working.every((w) => w.remaining === 0);
  if (started === 0 && allStarted && input.pending.length > 0 && working.length < input.maxActiveBatches)
    startNext(0);
  sharePermits(working, input.headroom);
  shareRate(working, input.rate ?? 0);
  return toAllocation(working);
}

/** After `maxInFlight` went down: the latest batches give back slots they are not using. */
function shrinkSlots(working: Working[], maxInFlight: number): void {
  let excess = working.reduce((sum, w) => sum + w.slots, 0) - maxInFlight;
  for (let i = working.length - 1; i >= 0 && excess > 0; i--) {
    const w = working[i]!;
    const cut = Math.min(excess, Math.max(0, w.slots - w.inFlight));
    w.slots -= cut;
    excess -= cut;
  }
}

/** Gives the whole rate to the first batch with devices to start (see the module comment). */
function shareRate(working: Working[], rate: number): void {
  if (!(rate > 0)) return;
  const holder = working.find((w) => w.remaining > 0 && w.slots > 0);
  for (const w of working) w.rate = w === holder ? rate : 0;
  if (!holder || (holder.original?.rate ?? 0) > 0) return;
  const clocks = working.filter((w) => w !== holder).map((w) => w.rateClock ?? 0);
  const after = Math.max(0, ...clocks);
  if (after > 0) holder.rateAfter = after;
}

function sharePermits(working: Working[], headroom: number): void {
  // After the threshold went down: the latest batches give back permits they are not using.
  let excess = working.reduce((sum, w) => sum + Math.max(0, w.permits - w.failed), 0) - Math.max(0, headroom);
  for (let i = working.length - 1; i >= 0 && excess > 0; i--) {
    const w = working[i]!;
    const cut = Math.min(excess, Math.max(0, w.permits - w.failed - w.inFlight));
    w.permits -= cut;
    excess -= cut;
  }
  let free = headroom - working.reduce((sum, w) => sum + Math.max(0, w.permits - w.failed), 0);
  for (const w of working) {
    const want = w.failed + Math.min(w.slots, w.need);
    const add = Math.max(0, Math.min(free, want - w.permits));
    w.permits += add;
    free -= add;
  }
  const blocked = working.every((w) => w.remaining === 0 || w.permits - w.failed - w.inFlight <= 0);
  const idle = working.every((w) => w.inFlight === 0);
  const probe = working.find((w) => w.remaining > 0 && w.slots > 0);
  if (free <= 0 && blocked && idle && probe) probe.permits = probe.failed + 1;
}

function toAllocation(working: Working[]): Allocation {
  const grants = new Map<number, BatchGrant>();
  const starts: BatchGrant[] = [];
  for (const w of working) {
    const grant: BatchGrant = { slots: w.slots, permits: w.permits };
    if (w.rate !== undefined) grant.rate = w.rate;
    if (w.rateAfter !== undefined) grant.rateAfter = w.rateAfter;
    if (!w.original) starts.push(grant);
    else if (
      w.original.slots !== grant.slots ||
      w.original.permits !== grant.permits ||
      w.original.rate !== grant.rate
    )
      grants.set(w.batch, grant);
  }
  return { grants, starts };
}
