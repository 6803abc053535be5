import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchView } from '../../workflows/allocation.js';
import { allocate } from '../../workflows/allocation.js';

const view = (over: Partial<BatchView> & Pick<BatchView, 'batch'>): BatchView => ({
  count: 500,
  grant: { slots: 0, permits: 0 },
  failed: 0,
  inFlight: 0,
  remaining: 500,
  ...over,
});

describe('slot and permit allocation', () => {
  it('starts the first batch with every slot and the permits the breaker allows', () => {
    const a = allocate({
      active: [],
      pending: [500, 500],
      maxInFlight: 100,
      maxActiveBatches: 20,
      headroom: 4,
    });
    expect(a.starts).toEqual([{ slots: 100, permits: 4 }]);
  });

  it('gives slots a batch no longer needs to the next batch', () => {
    const active = [view({ batch: 0, grant: { slots: 100, permits: 100 }, inFlight: 30, remaining: 0 })];
    const a = allocate({ active, pending: [500], maxInFlight: 100, maxActiveBatches: 20, headroom: 1000 });
    expect(a.grants.get(0)).toEqual({ slots: 30, permits: 30 });
    expect(a.starts).toEqual([{ slots: 70, permits: 70 }]);
  });

  it('favours earlier batches (higher priority) when slots free up', () => {
    const active = [
      view({ batch: 0, grant: { slots: 10, permits: 10 }, inFlight: 10, remaining: 200 }),
      view({ batch: 1, grant: { slots: 50, permits: 50 }, inFlight: 20, remaining: 0 }),
    ];
    const a = allocate({ active, pending: [500], maxInFlight: 100, maxActiveBatches: 20, headroom: 1000 });
    expect(a.grants.get(0)?.slots).toBe(80);
    expect(a.grants.get(1)?.slots).toBe(20);
    expect(a.starts).toEqual([]);
  });

  it('sends one probe permit when every batch is blocked on permits and nothing is in flight', () => {
    const active = [view({ batch: 0, grant: { slots: 100, permits: 5 }, failed: 5, remaining: 480 })];
    const a = allocate({ active, pending: [], maxInFlight: 100, maxActiveBatches: 20, headroom: 0 });
    expect(a.grants.get(0)).toEqual({ slots: 100, permits: 6 });
  });

  it('sends no probe while a push is still in flight', () => {
    const active = [
      view({ batch: 0, grant: { slots: 100, permits: 5 }, failed: 4, inFlight: 1, remaining: 480 }),
    ];
    const a = allocate({ active, pending: [], maxInFlight: 100, maxActiveBatches: 20, headroom: 0 });
    expect(a.grants.size).toBe(0);
  });

  it('never grants more slots than the in-flight cap, nor permits beyond the headroom but one idle probe', () => {
    const batch = fc.record({
      slots: fc.integer({ min: 0, max: 60 }),
      extraPermits: fc.integer({ min: 0, max: 60 }),
      failed: fc.integer({ min: 0, max: 100 }),
      inFlightShare: fc.double({ min: 0, max: 1, noNaN: true }),
      remaining: fc.integer({ min: 0, max: 500 }),
    });
    fc.assert(
      fc.property(
        fc.array(batch, { maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 400 }),
        (batches, pending, maxInFlight, headroomExtra) => {
          // Build a consistent state: slots within the cap, failed + inFlight within permits.
          let budget = maxInFlight;
          const active = batches.map((b, i) => {
            const slots = Math.min(b.slots, budget);
            budget -= slots;
            const inFlight = Math.floor(slots * b.inFlightShare);
            return view({
              batch: i,
              grant: { slots, permits: b.failed + inFlight + b.extraPermits },
              failed: b.failed,
              inFlight,
              remaining: b.remaining,
            });
          });
          const outstanding = active.reduce((s, b) => s + b.grant.permits - b.failed, 0);
          const headroom = outstanding + headroomExtra;
          const a = allocate({ active, pending, maxInFlight, maxActiveBatches: 8, headroom });
          const final = active.map((b) => a.grants.get(b.batch) ?? b.grant);
          const all = [...final, ...a.starts];
          expect(all.reduce((s, g) => s + g.slots, 0)).toBeLessThanOrEqual(maxInFlight);
          const failedOf = (i: number) => active[i]?.failed ?? 0;
          const newOutstanding = all.reduce((s, g, i) => s + g.permits - failedOf(i), 0);
          // Beyond the headroom only by the single probe, and only when nothing is in flight.
          const idle = active.every((b) => b.inFlight === 0);
          expect(newOutstanding).toBeLessThanOrEqual(headroom + (idle ? 1 : 0));
          final.forEach((g, i) => expect(g.slots).toBeGreaterThanOrEqual(active[i]!.inFlight));
        },
      ),
    );
  });

  it('takes unused slots back from the latest batches when max-in-flight goes down', () => {
    const active = [
      view({ batch: 0, grant: { slots: 60, permits: 1000 }, inFlight: 50, remaining: 100 }),
      view({ batch: 1, grant: { slots: 40, permits: 1000 }, inFlight: 5, remaining: 100 }),
    ];
    const a = allocate({ active, pending: [], maxInFlight: 30, maxActiveBatches: 20, headroom: 5000 });
    // Batch 1 gives back all it does not use; batch 0 keeps its 50 pushes in flight.
    expect(a.grants.get(1)?.slots).toBe(5);
    expect(a.grants.get(0)?.slots).toBe(50);
  });

  it('takes unused permits back when the failure threshold goes down', () => {
    const active = [
      view({ batch: 0, grant: { slots: 50, permits: 40 }, failed: 2, inFlight: 10, remaining: 100 }),
      view({ batch: 1, grant: { slots: 50, permits: 40 }, failed: 0, inFlight: 3, remaining: 100 }),
    ];
    const a = allocate({ active, pending: [], maxInFlight: 100, maxActiveBatches: 20, headroom: 20 });
    const outstanding = [0, 1].reduce((sum, b) => {
      const grant = a.grants.get(b) ?? active[b]!.grant;
      return sum + grant.permits - active[b]!.failed;
    }, 0);
    expect(outstanding).toBeLessThanOrEqual(20);
    // Never below what a batch has in flight.
    expect(a.grants.get(1)?.permits).toBeGreaterThanOrEqual(3);
  });

  it('gives the whole rate to the first batch with devices to start, none to the others', () => {
    const active = [
      view({ batch: 0, grant: { slots: 50, permits: 1000 }, inFlight: 5, remaining: 0, rateClock: 9_000 }),
      view({ batch: 1, grant: { slots: 50, permits: 1000 }, remaining: 100 }),
      view({ batch: 2, grant: { slots: 0, permits: 0 }, remaining: 100 }),
    ];
    const a = allocate({
      active,
      pending: [],
      maxInFlight: 100,
      maxActiveBatches: 20,
      headroom: 5000,
      rate: 25,
    });
    expect(a.grants.get(0)?.rate).toBe(0);
    // Batch 1 takes over no earlier than batch 0's next slot: their starts never overlap.
    expect(a.grants.get(1)).toMatchObject({ rate: 25, rateAfter: 9_000 });
    expect(a.grants.get(2)?.rate ?? 0).toBe(0);
  });

  it('grants no rate without a limit', () => {
    const a = allocate({ active: [], pending: [500], maxInFlight: 100, maxActiveBatches: 20, headroom: 4 });
    expect(a.starts[0]?.rate).toBeUndefined();
  });
});
