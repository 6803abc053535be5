import { describe, expect, it } from 'vitest';
import { parseStartArgs } from '../../client/commands/start.js';
import { CliError } from '../../client/errors.js';
import { SETTING_FLAGS, settingsFromFlags, toFlagProblem } from '../../client/settings-flags.js';
import type { RolloutSettings } from '../../workflows/settings.js';
import { DEFAULT_SETTINGS, validateSettings } from '../../workflows/settings.js';

describe('settingsFromFlags', () => {
  it('gives --mode fast its own default batch size, and keeps a --batch-size given', () => {
    expect(settingsFromFlags({ mode: 'fast' }).settings.batchSize).toBe(5000);
    expect(settingsFromFlags({ mode: 'fast', 'batch-size': '800' }).settings.batchSize).toBe(800);
    expect(settingsFromFlags({ 'batch-size': '5000' }).problems).toEqual([
      { flag: '--batch-size', message: expect.stringContaining('from 1 to 1000') as string },
    ]);
  });

  it('gives the defaults when no flag is set', () => {
    expect(settingsFromFlags({})).toEqual({ settings: { ...DEFAULT_SETTINGS }, problems: [] });
  });

  it.each<[string, string, keyof RolloutSettings, number]>([
    ['batch-size', '250', 'batchSize', 250],
    ['max-in-flight', '40', 'maxInFlight', 40],
    ['max-attempts', '3', 'maxAttempts', 3],
    ['initial-interval', '500ms', 'initialIntervalMs', 500],
    ['max-interval', '2m', 'maxIntervalMs', 120_000],
    ['backoff', '1.5', 'backoffCoefficient', 1.5],
    ['attempt-timeout', '10s', 'attemptTimeoutMs', 10_000],
    ['device-timeout', '1h', 'deviceTimeoutMs', 3_600_000],
    ['failure-threshold', '0.05', 'failureThreshold', 0.05],
    ['min-samples', '50', 'minSamples', 50],
  ])('maps --%s %s to %s = %d', (flag, value, setting, expected) => {
    const { settings, problems } = settingsFromFlags({ [flag]: value });
    expect(problems).toEqual([]);
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, [setting]: expected });
  });

  it.each<[string, string, keyof RolloutSettings, unknown]>([
    ['rate', '10', 'rate', 10],
    ['rate', '10/s', 'rate', 10],
    ['rate', '0.5/s', 'rate', 0.5],
    ['rate', '0', 'rate', 0],
    ['on-breaker', 'pause', 'onBreaker', 'pause'],
    [
      'waves',
      '1%:0.05,10%,50%,100%',
      'waves',
      [
        { size: 1, unit: 'percent', failureThreshold: 0.05 },
        { size: 10, unit: 'percent' },
        { size: 50, unit: 'percent' },
        { size: 100, unit: 'percent' },
      ],
    ],
    [
      'waves',
      '10,100%',
      'waves',
      [
        { size: 10, unit: 'count' },
        { size: 100, unit: 'percent' },
      ],
    ],
    ['verify', 'http://fleet/devices/{id}/status', 'verifyUrl', 'http://fleet/devices/{id}/status'],
    ['verify-timeout', '2m', 'verifyTimeoutMs', 120_000],
    ['verify-interval', '500ms', 'verifyIntervalMs', 500],
  ])('maps --%s %s to %s', (flag, value, setting, expected) => {
    const { settings, problems } = settingsFromFlags({ [flag]: value });
    expect(problems).toEqual([]);
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, [setting]: expected });
  });

  it('maps --waves with --bake and --approve-waves', () => {
    const { settings, problems } = settingsFromFlags({
      waves: '5%,100%',
      bake: '10m',
      'approve-waves': true,
    });
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({
      bakeMs: 600_000,
      approveWaves: true,
      waves: [{ size: 5 }, { size: 100 }],
    });
  });

  it('covers every setting with exactly one flag', () => {
    const settings = SETTING_FLAGS.map((f) => f.setting).sort();
    expect(settings).toEqual([...Object.keys(DEFAULT_SETTINGS), 'verifyUrl'].sort());
  });

  it.each<[Record<string, string | boolean>, string]>([
    [{ 'approve-waves': true }, '--approve-waves'],
    [{ bake: '5m' }, '--bake'],
  ])('refuses %j without --waves: one wave has nothing to wait for', (values, flag) => {
    expect(settingsFromFlags(values).problems).toEqual([
      {
        flag,
        message: expect.stringMatching(
          /^without --waves the whole fleet is one wave, .* add --waves, e\.g\. --waves 10%,100%$/,
        ) as string,
      },
    ]);
  });

  it('takes --bake 0s without --waves (no wait asked for)', () => {
    expect(settingsFromFlags({ bake: '0s' }).problems).toEqual([]);
  });

  it('takes --mode fast and rejects an unknown mode naming the flag', () => {
    expect(settingsFromFlags({ mode: 'fast' })).toMatchObject({ settings: { mode: 'fast' }, problems: [] });
    expect(settingsFromFlags({ mode: 'turbo' }).problems).toEqual([
      { flag: '--mode', message: 'must be per-device or fast (got "turbo")' },
    ]);
  });

  it.each<[string, string, string]>([
    ['max-in-flight', 'x', 'must be a whole number from 1 to 10000 (got "x")'],
    ['max-in-flight', '0', 'must be a whole number from 1 to 10000 (got "0")'],
    ['max-in-flight', '10001', 'must be a whole number from 1 to 10000 (got "10001")'],
    ['batch-size', '1.5', 'must be a whole number from 1 to 1000 (got "1.5")'],
    ['batch-size', '1001', 'must be a whole number from 1 to 1000 (got "1001")'],
    ['max-attempts', '-1', 'must be a whole number from 1 to 100 (got "-1")'],
    ['min-samples', '0', 'must be a whole number from 1 to 1000000000 (got "0")'],
    [
      'initial-interval',
      '1',
      'needs a unit, since a bare number could be seconds or milliseconds: write 500ms, 30s, 2m or 1h (got "1")',
    ],
    ['initial-interval', 'soon', 'must be a duration such as 500ms, 30s, 2m or 1h (got "soon")'],
    ['initial-interval', '0ms', 'must be a duration from 1ms to 24h (got "0ms")'],
    ['max-interval', '25h', 'must be a duration from 1ms to 24h (got "25h")'],
    ['device-timeout', '169h', 'must be a duration from 1ms to 168h (got "169h")'],
    ['backoff', '0.5', 'must be a number from 1 to 100 (got "0.5")'],
    ['backoff', 'two', 'must be a number from 1 to 100 (got "two")'],
    ['failure-threshold', '1.5', 'must be a ratio from 0 to 1, e.g. 0.2 (got "1.5")'],
    ['failure-threshold', 'high', 'must be a ratio from 0 to 1, e.g. 0.2 (got "high")'],
    ['rate', 'fast', 'must be a number of devices per second from 0 (no limit) to 100000 (got "fast")'],
    ['rate', '-1', 'must be a number of devices per second from 0 (no limit) to 100000 (got "-1")'],
    ['rate', '10/m', 'must be a number of devices per second from 0 (no limit) to 100000 (got "10/m")'],
    ['rate', '100001', 'must be a number of devices per second from 0 (no limit) to 100000 (got "100001")'],
    ['on-breaker', 'stop', 'must be halt or pause (got "stop")'],
    [
      'waves',
      '1%,x',
      'wave 2 "x" is not a share (10%) or a device count (500), optionally with its own failure threshold (10%:0.05) (got "1%,x")',
    ],
    ['waves', '50%,10%', 'wave 2: sizes are cumulative and must grow (50% then 10%) (got "50%,10%")'],
    ['waves', '0%,100%', 'wave 1: a share must be above 0 % and at most 100 % (got "0%,100%")'],
    ['waves', '1%:2,100%', 'wave 1: its failure threshold must be a ratio from 0 to 1 (got "1%:2,100%")'],
    [
      'bake',
      '10',
      'needs a unit, since a bare number could be seconds or milliseconds: write 500ms, 30s, 2m or 1h (got "10")',
    ],
    [
      'verify',
      'ftp://x/{id}',
      'must be an http(s) URL template such as http://host/devices/{id}/status (got "ftp://x/{id}")',
    ],
    ['verify-timeout', '0s', 'must be a duration from 1ms to 24h (got "0s")'],
    ['verify-interval', '2h', 'must be a duration from 1ms to 1h (got "2h")'],
  ])('--%s %j is refused with a message naming the flag', (flag, value, message) => {
    expect(settingsFromFlags({ [flag]: value }).problems).toEqual([{ flag: `--${flag}`, message }]);
  });

  it('names the flag of a setting that conflicts with another, in readable units', () => {
    const { problems } = settingsFromFlags({ 'initial-interval': '2m', 'max-interval': '30s' });
    expect(problems).toEqual([
      { flag: '--max-interval', message: 'must not be below the initial interval (30s < 2m) (got "30s")' },
    ]);
  });

  it('says which default conflicts when the user did not set that flag', () => {
    const { problems } = settingsFromFlags({ 'attempt-timeout': '2h' });
    expect(problems).toEqual([
      {
        flag: '--device-timeout',
        message:
          'must not be below the attempt timeout (30m < 2h) — the default is 30m; set --device-timeout',
      },
    ]);
  });

  it('reports every bad flag, once each, in usage order', () => {
    const { problems } = settingsFromFlags({ 'min-samples': '0', 'batch-size': 'x', 'max-interval': '5' });
    expect(problems.map((p) => p.flag)).toEqual(['--batch-size', '--max-interval', '--min-samples']);
  });

  it('names the flag for every problem validateSettings can raise', () => {
    const broken = {
      ...Object.fromEntries(Object.keys(DEFAULT_SETTINGS).map((k) => [k, -1])),
      mode: 'x',
      onBreaker: 'x',
      waves: [{ size: -1, unit: 'percent' }],
      verifyUrl: 'ftp://x',
    } as unknown as RolloutSettings;
    const problems = validateSettings(broken);
    expect(problems.map((p) => p.setting)).toEqual(
      expect.arrayContaining(['waves', 'verifyUrl', 'onBreaker']),
    );
    for (const problem of problems) {
      const flag = toFlagProblem(problem.setting, problem.message, {}).flag;
      expect(SETTING_FLAGS.map((f) => `--${f.name}`)).toContain(flag);
    }
  });
});

describe('parseStartArgs', () => {
  const base = ['--fleet', 'f.ndjson', '--artifact', 'a.bin'];

  const linesOf = (argv: string[]): readonly string[] => {
    try {
      parseStartArgs(argv);
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      return (err as CliError).lines;
    }
    throw new Error('expected a CliError');
  };

  it('returns the request with settings, wait and json', () => {
    const request = parseStartArgs([...base, '--id', 'r1', '--max-in-flight', '7', '--wait', '--json']);
    expect(request).toEqual({
      fleetPath: 'f.ndjson',
      artifactPath: 'a.bin',
      id: 'r1',
      settings: { ...DEFAULT_SETTINGS, maxInFlight: 7 },
      wait: true,
      json: true,
    });
  });

  it('requires --fleet and --artifact, naming both', () => {
    expect(linesOf([])).toEqual([
      '--fleet: required: the fleet file (NDJSON, a JSON array, or CSV)',
      '--artifact: required: the file to push to every device',
    ]);
  });

  it('takes --rate and the wave, breaker and verify flags', () => {
    const request = parseStartArgs([
      ...base,
      '--rate',
      '10/s',
      '--waves',
      '1%,10%,100%',
      '--bake',
      '15m',
      '--approve-waves',
      '--on-breaker',
      'pause',
      '--verify',
      'http://fleet/{id}/version',
      '--verify-timeout',
      '2m',
      '--verify-interval',
      '5s',
    ]);
    expect(request.settings).toEqual({
      ...DEFAULT_SETTINGS,
      rate: 10,
      waves: [
        { size: 1, unit: 'percent' },
        { size: 10, unit: 'percent' },
        { size: 100, unit: 'percent' },
      ],
      bakeMs: 900_000,
      approveWaves: true,
      onBreaker: 'pause',
      verifyUrl: 'http://fleet/{id}/version',
      verifyTimeoutMs: 120_000,
      verifyIntervalMs: 5000,
    });
  });

  it('refuses a bad --rate, naming the flag', () => {
    expect(linesOf([...base, '--rate', 'lots'])).toEqual([
      '--rate: must be a number of devices per second from 0 (no limit) to 100000 (got "lots")',
    ]);
  });

  it('says --approve-waves is a switch', () => {
    expect(linesOf([...base, '--approve-waves=yes'])).toEqual([
      '--approve-waves: is a switch and takes no value — write just --approve-waves',
    ]);
  });

  it('refuses an id with spaces', () => {
    expect(linesOf([...base, '--id', 'my rollout'])).toEqual([
      '--id: must be 1 to 200 printable characters without spaces (got "my rollout")',
    ]);
  });

  it('refuses positional arguments', () => {
    expect(linesOf([...base, 'extra'])[0]).toMatch(/unexpected argument/);
  });
});
