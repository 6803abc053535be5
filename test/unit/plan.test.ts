import { describe, expect, it } from 'vitest';
import { batchRange, makePlan, waveEnds, wavesOf } from '../../workflows/plan.js';
import { parseWaves } from '../../workflows/settings.js';

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

  it('has one batch and one wave for a fleet smaller than a batch', () => {
    const plan = makePlan(3, 500);
    expect(plan.batches).toBe(1);
    expect(wavesOf(plan)).toEqual([{ start: 0, end: 3, firstBatch: 0, batches: 1 }]);
  });

  it('reads a plan made before waves existed as one wave', () => {
    const plan = { total: 1234, batchSize: 500, batches: 3 };
    expect(batchRange(plan, 2)).toEqual({ start: 1000, count: 234 });
    expect(wavesOf(plan)).toEqual([{ start: 0, end: 1234, firstBatch: 0, batches: 3 }]);
  });
});

describe('waves', () => {
  it('cuts batches at wave ends, so no batch straddles two waves', () => {
    const plan = makePlan(1000, 300, parseWaves('1%,10%,50%,100%'));
    expect(wavesOf(plan).map((w) => [w.start, w.end, w.firstBatch, w.batches])).toEqual([
      [0, 10, 0, 1],
      [10, 100, 1, 1],
      [100, 500, 2, 2],
      [500, 1000, 4, 2],
    ]);
    const ranges = Array.from({ length: plan.batches }, (_, b) => batchRange(plan, b));
    expect(ranges).toEqual([
      { start: 0, count: 10 },
      { start: 10, count: 90 },
      { start: 100, count: 300 },
      { start: 400, count: 100 },
      { start: 500, count: 300 },
      { start: 800, count: 200 },
    ]);
    // Every device in exactly one batch, in order.
    expect(ranges.reduce((n, r) => n + r.count, 0)).toBe(1000);
  });

  it('rounds a share up to at least one device and caps counts at the fleet', () => {
    expect(waveEnds(50, parseWaves('1%,5,100000'))).toEqual([{ end: 1 }, { end: 5 }, { end: 50 }]);
  });

  it('adds a last wave for the rest of the fleet and drops waves that add no device', () => {
    expect(waveEnds(100, parseWaves('10,5%,20'))).toEqual([{ end: 10 }, { end: 20 }, { end: 100 }]);
  });

  it('keeps a wave its own failure threshold', () => {
    expect(makePlan(100, 50, parseWaves('5%:0.05,100%')).waves?.[0]).toMatchObject({
      end: 5,
      failureThreshold: 0.05,
    });
  });
});
