import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, validateSettings, withDefaults } from '../../workflows/settings.js';

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

  it.each([
    [{ batchSize: 0 }, 'batchSize', 'whole number from 1 to 1000'],
    [{ batchSize: 1001 }, 'batchSize', 'whole number from 1 to 1000'],
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
