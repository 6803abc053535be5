/**
 * The rollout plan: the frozen fleet (already in priority order) cut into waves, and each wave
 * into contiguous batches. Pure: no Temporal import. Batches never straddle a wave, so a wave is
 * done exactly when its batches are, and earlier batches hold higher priorities (the rollout
 * favours them when it hands out slots).
 */
import type { WaveSpec } from './settings.js';

/** One wave of the plan: devices [start, end) of the frozen fleet, batches [firstBatch, firstBatch + batches). */
export interface WavePlan {
  start: number;
  end: number;
  firstBatch: number;
  batches: number;
  /** The wave's own failure threshold, if it has one. */
  failureThreshold?: number;
}

export interface Plan {
  total: number;
  batchSize: number;
  batches: number;
  /**
   * Absent in plans made before waves existed (carried across continue-as-new in recorded
   * histories): one wave, batch n = [n * batchSize, (n + 1) * batchSize).
   */
  waves?: WavePlan[];
}

/**
 * Wave ends from their specs: a share rounds up (1 % of 50 devices is 1 device, never 0), a
 * count is capped at the fleet; a wave that adds no device is dropped, and a last wave short of
 * the whole fleet is followed by one for the rest (a rollout always covers its fleet).
 */
export function waveEnds(
  total: number,
  specs: readonly WaveSpec[],
): Array<{ end: number; failureThreshold?: number }> {
  const ends: Array<{ end: number; failureThreshold?: number }> = [];
  let previous = 0;
  for (const spec of specs) {
    const raw = spec.unit === 'percent' ? Math.ceil((total * spec.size) / 100) : spec.size;
    const end = Math.min(total, Math.max(1, raw));
    if (end <= previous) continue;
    ends.push(
      spec.failureThreshold === undefined ? { end } : { end, failureThreshold: spec.failureThreshold },
    );
    previous = end;
  }
  if (previous < total) ends.push({ end: total });
  return ends;
}

export function makePlan(total: number, batchSize: number, specs: readonly WaveSpec[] = []): Plan {
  const waves: WavePlan[] = [];
  let start = 0;
  let firstBatch = 0;
  for (const { end, failureThreshold } of waveEnds(total, specs)) {
    const batches = Math.ceil((end - start) / batchSize);
    waves.push({
      start,
      end,
      firstBatch,
      batches,
      ...(failureThreshold === undefined ? {} : { failureThreshold }),
    });
    start = end;
    firstBatch += batches;
  }
  return { total, batchSize, batches: firstBatch, waves };
}

/** The waves of a plan (a plan made before waves existed has one). */
export function wavesOf(plan: Plan): WavePlan[] {
  return plan.waves ?? [{ start: 0, end: plan.total, firstBatch: 0, batches: plan.batches }];
}

/** The slice of the frozen fleet that batch `batch` pushes. */
export function batchRange(plan: Plan, batch: number): { start: number; count: number } {
  const wave = wavesOf(plan).find((w) => batch >= w.firstBatch && batch < w.firstBatch + w.batches);
  if (wave === undefined) return { start: plan.total, count: 0 };
  const start = wave.start + (batch - wave.firstBatch) * plan.batchSize;
  return { start, count: Math.max(0, Math.min(plan.batchSize, wave.end - start)) };
}
