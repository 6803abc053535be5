import { describe, expect, it } from 'vitest';
import { batchRange, makePlan } from '../../workflows/plan.js';

describe('rollout plan', () => {
  it('cuts the fleet into contiguous batches, the last one short', () => {
    const plan = makePlan(1234, 500);
    expect(plan.batches).toBe(3);
    expect([0, 1, 2].map((b) => batchRange(plan, b))).toEqual([
      { start: 0, count: 500 },
      { start: 500, count: 500 },
      { start: 1000, count: 234 },
    ]);
  });

  it('has one batch for a fleet smaller than a batch', () => {
    expect(makePlan(3, 500)).toEqual({ total: 3, batchSize: 500, batches: 1 });
  });
});
