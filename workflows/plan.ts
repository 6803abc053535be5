/**
 * The rollout plan: the frozen fleet (already in priority order) cut into contiguous batches.
 * Pure: no Temporal import. Batch n covers devices [n * batchSize, min(total, (n + 1) * batchSize)),
 * so earlier batches hold higher priorities, and the rollout favours them when it hands out
 * slots.
 */

export interface Plan {
  total: number;
  batchSize: number;
  batches: number;
}

export function makePlan(total: number, batchSize: number): Plan {
  return { total, batchSize, batches: Math.ceil(total / batchSize) };
}

/** The slice of the frozen fleet that batch `batch` pushes. */
export function batchRange(plan: Plan, batch: number): { start: number; count: number } {
  const start = batch * plan.batchSize;
  return { start, count: Math.max(0, Math.min(plan.batchSize, plan.total - start)) };
}
