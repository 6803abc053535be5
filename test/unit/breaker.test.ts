import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failureHeadroom, isTripped, tripReason } from '../../workflows/breaker.js';

const settings = { failureThreshold: 0.2, minSamples: 20 };

describe('circuit breaker', () => {
  it.each([
    { failed: 4, finished: 20, tripped: false, why: '20 % is not above 20 %' },
    { failed: 5, finished: 20, tripped: true, why: '25 % exceeds 20 %' },
    { failed: 19, finished: 19, tripped: false, why: 'fewer than min-samples finished' },
    { failed: 0, finished: 1000, tripped: false, why: 'no failures' },
    { failed: 201, finished: 1000, tripped: true, why: '20.1 % exceeds 20 %' },
  ])('trips=$tripped at $failed of $finished ($why)', ({ failed, finished, tripped }) => {
    expect(isTripped({ failed, finished }, settings)).toBe(tripped);
  });

  it('never trips on failures within the headroom, whatever successes come with them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 3000 }),
        (failed, succeeded, failureThreshold, minSamples, extraSuccesses) => {
          const s = { failureThreshold, minSamples };
          const counts = { failed, finished: failed + succeeded };
          fc.pre(!isTripped(counts, s));
          const headroom = failureHeadroom(counts, s);
          fc.pre(headroom >= 0);
          for (const f of [0, Math.floor(headroom / 2), headroom]) {
            const later = { failed: failed + f, finished: counts.finished + f + extraSuccesses };
            expect(isTripped(later, s)).toBe(false);
          }
        },
      ),
    );
  });

  it('can trip with one failure more than the headroom (the headroom is not too cautious)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        (failed, succeeded, failureThreshold, minSamples) => {
          const s = { failureThreshold, minSamples };
          const counts = { failed, finished: failed + succeeded };
          const f = Math.max(0, failureHeadroom(counts, s) + 1);
          const successesToReachSamples = Math.max(0, minSamples - counts.finished - f);
          const later = { failed: failed + f, finished: counts.finished + f + successesToReachSamples };
          expect(isTripped(later, s)).toBe(true);
        },
      ),
    );
  });

  it('allows threshold × min-samples failures before any sample arrives', () => {
    expect(failureHeadroom({ failed: 0, finished: 0 }, settings)).toBe(4);
  });

  it('never limits a rollout whose threshold is 1', () => {
    expect(
      failureHeadroom({ failed: 1e6, finished: 1e6 }, { failureThreshold: 1, minSamples: 1 }),
    ).toBeGreaterThan(1e8);
  });

  it('explains a trip with the ratio, the counts and the threshold', () => {
    expect(tripReason({ failed: 10, finished: 20 }, settings)).toBe(
      'failure ratio 0.500 (10 of 20 finished devices) exceeded the threshold 0.2 after at least 20 samples',
    );
  });
});
