import { describe, expect, it } from 'vitest';
import { mixBehaviors, SimulatorError, type DeviceBehavior } from '../../simulator/index.js';

function classify(behavior: DeviceBehavior): string {
  const failure = behavior.failure;
  if (behavior.confirm !== undefined) return `confirm-${behavior.confirm.delayMs ?? 'never'}`;
  if (behavior.latencyMs !== undefined) return 'slow';
  if (failure === undefined) return 'ok';
  if (failure.mode === 'retryAfter')
    return `ratelimited-${failure.status}-${failure.retryAfterS}-${failure.firstAttempts}`;
  if (failure.status === 503) return `flaky-${failure.firstAttempts}`;
  if (failure.probability !== undefined) return `random-${failure.status}-${failure.probability}`;
  if (failure.mode === 'status') return `broken-${failure.status}-${failure.firstAttempts ?? 'always'}`;
  return failure.mode;
}

function census(spec: string, devices: number, seed = 1): Record<string, number> {
  const behaviorOf = mixBehaviors(spec, seed);
  const counts: Record<string, number> = {};
  for (let index = 0; index < devices; index += 1) {
    const name = classify(behaviorOf(`dev-${index}`, index));
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('mixBehaviors', () => {
  it('assigns classes in exactly the stated proportions', () => {
    expect(census('ok=90,slow=3,flaky=3,ratelimited=2,broken=2', 1000)).toEqual({
      ok: 900,
      slow: 30,
      'flaky-2': 30,
      'ratelimited-429-1-1': 20,
      'broken-404-always': 10,
      'broken-500-always': 10,
    });
  });

  it('supports the failure classes hang, reset, malformed, midbody, random30 and lostanswer', () => {
    expect(census('hang=1,reset=1,malformed=1,midbody=1,random30=1,lostanswer=1', 60)).toEqual({
      hang: 10,
      reset: 10,
      malformed: 10,
      closeMidBody: 10,
      'random-500-0.3': 10,
      applyThenReset: 10,
    });
  });

  it('supports the verification classes slowconfirm and unconfirmed', () => {
    expect(census('slowconfirm=1,unconfirmed=1,ok=2', 40)).toEqual({
      'confirm-2000': 10,
      'confirm-never': 10,
      ok: 20,
    });
    const behaviorOf = mixBehaviors('unconfirmed=1');
    expect(behaviorOf('x', 0)).toEqual({ confirm: { never: true } });
  });

  it('gives the same assignment for the same seed and another one for another seed', () => {
    const assignment = (seed: number): string[] => {
      const behaviorOf = mixBehaviors('ok=50,broken=50', seed);
      return Array.from({ length: 200 }, (_, index) => classify(behaviorOf('', index)));
    };
    expect(assignment(7)).toEqual(assignment(7));
    expect(assignment(7)).not.toEqual(assignment(8));
  });

  it('shuffles classes instead of grouping them by index', () => {
    const behaviorOf = mixBehaviors('ok=50,hang=50', 3);
    const first = Array.from({ length: 50 }, (_, index) => classify(behaviorOf('', index)));
    expect(new Set(first).size).toBe(2);
  });

  it.each([
    ['ok=90,foo=10', /part "foo=10" names an unknown class "foo"/],
    ['ok', /part "ok" is not CLASS=WEIGHT/],
    ['ok=-1', /part "ok=-1" is not CLASS=WEIGHT/],
    ['ok=1.5', /part "ok=1.5" is not CLASS=WEIGHT/],
    ['', /part "" is not CLASS=WEIGHT/],
    ['ok=0', /weights add up to 0/],
    ['ok=1,ok=2', /class "ok" appears twice/],
  ])('rejects the spec "%s" naming the bad part and the valid classes', (spec, problem) => {
    expect(() => mixBehaviors(spec)).toThrow(problem);
    expect(() => mixBehaviors(spec)).toThrow(/classes: ok, slow, flaky, ratelimited, broken, hang, reset/);
    expect(() => mixBehaviors(spec)).toThrow(SimulatorError);
  });

  it('accepts spaces and upper case', () => {
    expect(census(' OK = 1 , Slow=1 ', 10)).toEqual({ ok: 5, slow: 5 });
  });
});
