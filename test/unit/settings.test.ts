import { describe, expect, it } from 'vitest';
import {
  applyChange,
  DEFAULT_SETTINGS,
  describeWave,
  parseWaves,
  PushMode,
  validateSettings,
  withDefaults,
} from '../../workflows/settings.js';

describe('rollout settings', () => {
  it('accepts the defaults of DESIGN.md', () => {
    expect(validateSettings(withDefaults())).toEqual([]);
    expect(DEFAULT_SETTINGS).toMatchObject({
      batchSize: 500,
      maxInFlight: 100,
      maxAttempts: 5,
      initialIntervalMs: 1000,
      backoffCoefficient: 2,
      maxIntervalMs: 60_000,
      attemptTimeoutMs: 30_000,
      failureThreshold: 0.2,
      minSamples: 20,
    });
  });

  it('lets fast mode have batches of up to 5,000 devices, 5,000 by default', () => {
    expect(withDefaults({ mode: PushMode.Fast }).batchSize).toBe(5000);
    expect(withDefaults({ mode: PushMode.Fast, batchSize: 700 }).batchSize).toBe(700);
    expect(validateSettings(withDefaults({ mode: PushMode.Fast }))).toEqual([]);
    expect(validateSettings(withDefaults({ mode: PushMode.PerDevice, batchSize: 5000 }))).toContainEqual({
      setting: 'batchSize',
      message: expect.stringContaining('from 1 to 1000') as string,
    });
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize', 'whole number from 1 to 1000'],
    [{ batchSize: 1001 }, 'batchSize', 'whole number from 1 to 1000'],
    [{ mode: PushMode.Fast, batchSize: 5001 }, 'batchSize', 'whole number from 1 to 5000'],
    [{ maxInFlight: 2.5 }, 'maxInFlight', 'whole number'],
    [{ failureThreshold: 1.5 }, 'failureThreshold', 'ratio from 0 to 1'],
    [{ backoffCoefficient: 0.5 }, 'backoffCoefficient', 'from 1 to 100'],
    [
      { initialIntervalMs: 5000, maxIntervalMs: 1000 },
      'maxIntervalMs',
      'must not be below the initial interval',
    ],
    [
      { attemptTimeoutMs: 60_000, deviceTimeoutMs: 1000 },
      'deviceTimeoutMs',
      'must not be below the attempt timeout',
    ],
  ])('rejects %j naming %s', (partial, setting, message) => {
    const problems = validateSettings(withDefaults(partial));
    expect(problems).toContainEqual({ setting, message: expect.stringContaining(message) as string });
  });
});

describe('waves, rate, breaker action and verify settings', () => {
  it('parses cumulative shares, counts and per-wave thresholds', () => {
    expect(parseWaves('1%,10%:0.05,500,100%')).toEqual([
      { size: 1, unit: 'percent' },
      { size: 10, unit: 'percent', failureThreshold: 0.05 },
      { size: 500, unit: 'count' },
      { size: 100, unit: 'percent' },
    ]);
    expect(parseWaves('5%:2%')[0]?.failureThreshold).toBeCloseTo(0.02);
  });

  it('names the wave it cannot read', () => {
    expect(() => parseWaves('1%,ten%')).toThrow(/wave 2 "ten%" is not a share/);
  });

  it.each([
    [{ waves: parseWaves('10%,5%') }, 'waves', 'wave 2: sizes are cumulative and must grow'],
    [{ waves: parseWaves('150%') }, 'waves', 'at most 100 %'],
    [{ waves: parseWaves('10%:1.5') }, 'waves', 'wave 1: its failure threshold'],
    [{ rate: -1 }, 'rate', 'devices per second from 0'],
    [{ onBreaker: 'explode' as never }, 'onBreaker', 'must be halt or pause'],
    [{ bakeMs: 1.5 }, 'bakeMs', 'whole number'],
    [{ verifyUrl: 'ftp://x/{id}' }, 'verifyUrl', 'http(s) URL template'],
  ])('rejects %j, naming %s', (partial, setting, message) => {
    const problems = validateSettings(withDefaults(partial));
    expect(problems.map((p) => p.setting)).toEqual([setting]);
    expect(problems[0]?.message).toContain(message);
  });

  it('applies a valid live change and lists every problem of an invalid one', () => {
    const settings = withDefaults();
    expect(applyChange(settings, { rate: 50, maxInFlight: 10 })).toMatchObject({
      problems: [],
      settings: { rate: 50, maxInFlight: 10 },
    });
    const bad = applyChange(settings, { maxInFlight: 0, failureThreshold: 2 });
    expect(bad.problems.map((p) => p.setting).sort()).toEqual(['failureThreshold', 'maxInFlight']);
  });

  it('refuses to change a setting that is not live, and an empty change', () => {
    const [problem] = applyChange(withDefaults(), { batchSize: 5 } as never).problems;
    expect(problem?.setting).toBe('batchSize');
    expect(problem?.message).toContain('cannot be changed while the rollout runs');
    expect(applyChange(withDefaults(), {}).problems[0]?.message).toMatch(/no change given/);
  });

  it('round-trips a wave through describeWave', () => {
    for (const text of ['1%', '10%:0.05', '500']) expect(describeWave(parseWaves(text)[0]!)).toBe(text);
  });
});
