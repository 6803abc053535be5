import { describe, expect, it } from 'vitest';
import { generateRolloutId } from '../../client/commands/start.js';
import { outcomeLine } from '../../client/commands/results.js';
import { RateMeter } from '../../client/live-progress.js';
import { exitCodeOf, isReport } from '../../client/outcome.js';
import {
  formatElapsed,
  liveText,
  plainProgressLine,
  progressLine,
  renderReport,
  renderSummary,
} from '../../client/render.js';
import type { RolloutProgress, RolloutReport } from '../../workflows/definitions.js';
import { DEFAULT_SETTINGS } from '../../workflows/settings.js';

const progress: RolloutProgress = {
  rolloutId: 'r-1',
  status: 'running',
  total: 1000,
  succeeded: 400,
  failed: 20,
  aborted: 0,
  inFlight: 100,
  notAttempted: 480,
  failureRatio: 20 / 420,
  breaker: { tripped: false, reason: null },
  batches: { total: 2, started: 1, done: 0, running: 1 },
  failuresByType: { HttpServerError: 20 },
  startedAt: '2030-01-01T00:00:00.000Z',
  run: 0,
  batchSize: 500,
  fleet: { path: '/data/fleets/abc.ndjson', count: 1000, sha256: 'abc' },
};

const report: RolloutReport = {
  ...progress,
  status: 'halted',
  inFlight: 0,
  breaker: { tripped: true, reason: 'failure ratio 0.3 exceeded the threshold 0.2' },
  endedAt: '2030-01-01T00:01:00.000Z',
  durationMs: 60_000,
  failures: [{ deviceId: 'dev-7', errorType: 'HttpServerError', message: 'HTTP 503', attempts: 5 }],
  artifact: { path: '/fw/update.bin', sha256: 'q83v', size: 12_345_678 },
  settings: { ...DEFAULT_SETTINGS },
};

describe('exit codes', () => {
  it.each([
    ['completed', 0],
    ['halted', 2],
    ['cancelled', 3],
  ] as const)('a rollout %s exits %d', (status, code) => {
    expect(exitCodeOf(status)).toBe(code);
  });
});

describe('progress line', () => {
  it.each([60, 80, 100, 160])('fits a terminal %d columns wide', (columns) => {
    const line = progressLine(progress, 12.5, columns);
    expect(line.length).toBeLessThan(columns);
    expect(line).toContain('42%');
  });

  it('shows percent, counts, failure ratio and devices/s', () => {
    expect(progressLine(progress, 12.5, 200)).toMatch(
      /42% 420\/1,000 · 400 ok · 20 failed \(4\.8 %\) · 100 in flight · 12\.5\/s/,
    );
  });

  it('has a plain form for logs, without control characters', () => {
    const line = plainProgressLine(progress, null);
    expect(line).toBe(
      'r-1 running: 42% (420/1,000 devices), 400 succeeded, 20 failed (ratio 0.048), 100 in flight, – devices/s',
    );
    expect(line.includes('\r') || line.includes('\u001b')).toBe(false);
  });
});

/** `progress` in wave 2 of 4, with live settings and an ETA. */
const inWaves: RolloutProgress = {
  ...progress,
  waves: {
    current: 2,
    list: [
      { wave: 1, devices: 10, succeeded: 10, failed: 0, aborted: 0, failureThreshold: 0.05, state: 'done' },
      {
        wave: 2,
        devices: 90,
        succeeded: 30,
        failed: 2,
        aborted: 0,
        failureThreshold: null,
        state: 'running',
      },
      {
        wave: 3,
        devices: 400,
        succeeded: 0,
        failed: 0,
        aborted: 0,
        failureThreshold: null,
        state: 'pending',
      },
      {
        wave: 4,
        devices: 500,
        succeeded: 0,
        failed: 0,
        aborted: 0,
        failureThreshold: null,
        state: 'pending',
      },
    ],
  },
  waitingFor: null,
  live: { rate: 25, maxInFlight: 50, failureThreshold: 0.1 },
  etaSeconds: 192,
};

const waiting: RolloutProgress = {
  ...inWaves,
  status: 'waiting',
  inFlight: 0,
  etaSeconds: null,
  waitingFor: { kind: 'approval', wave: 2, message: 'approval of wave 3 (`rollout approve r-1`)' },
};

describe('waves, pauses and live settings', () => {
  it('shows the wave and the ETA on the terminal line', () => {
    expect(progressLine(inWaves, 12.5, 200)).toMatch(
      /42% 420\/1,000 · wave 2\/4 · 400 ok · 20 failed \(4\.8 %\) · 100 in flight · 12\.5\/s · ETA 3m 12s$/,
    );
  });

  it('shows what a waiting rollout waits for instead of its pace', () => {
    const line = progressLine(waiting, 0, 200);
    expect(line).toMatch(
      /· wave 2\/4 · .* · 0 in flight · WAITING: approval of wave 3 \(`rollout approve r-1`\)$/,
    );
    expect(progressLine({ ...waiting, status: 'paused', waitingFor: null }, 0, 200)).toMatch(/ · PAUSED$/);
  });

  it('keeps the terminal line inside narrow terminals while waiting', () => {
    for (const columns of [40, 60, 80])
      expect(progressLine(waiting, 0, columns).length).toBeLessThan(columns);
  });

  it('names the wave, ETA, rate limit and wait on the plain line', () => {
    expect(plainProgressLine(inWaves, 12.5)).toBe(
      'r-1 running wave 2/4: 42% (420/1,000 devices), 400 succeeded, 20 failed (ratio 0.048), 100 in flight, ' +
        '12.5 devices/s, ETA 3m 12s, rate limit 25/s',
    );
    expect(plainProgressLine(waiting, 0)).toMatch(
      /^r-1 waiting wave 2\/4: .*, waiting for approval of wave 3 \(`rollout approve r-1`\)$/,
    );
  });

  it('summarises the wave, the wait and the live settings', () => {
    const text = renderSummary(waiting, new Date('2030-01-01T00:03:12.000Z')).split('\n');
    expect(text[0]).toBe('r-1  waiting  42%  420 of 1,000 devices done · wave 2/4');
    expect(text[1]).toBe('  waiting for approval of wave 3 (`rollout approve r-1`)');
    expect(text).toContain('  wave 2 of 4 running: 32 of 90 devices done, 2 failed · 1 done, 2 to go');
    expect(text).toContain('  live settings: rate 25/s, max in flight 50, failure threshold 0.1');
    expect(renderSummary(inWaves).split('\n')[0]).toMatch(/ · wave 2\/4 · ETA 3m 12s$/);
  });

  it('does not repeat "breaker tripped" for a breaker pause', () => {
    const reason = 'breaker tripped: failure ratio 0.5 exceeded the threshold 0.2';
    const paused: RolloutProgress = { ...inWaves, status: 'paused', breaker: { tripped: true, reason } };
    expect(renderSummary(paused)).toContain(
      '· breaker tripped: failure ratio 0.5 exceeded the threshold 0.2\n',
    );
  });

  it('summarises a paused rollout with why', () => {
    const paused: RolloutProgress = {
      ...inWaves,
      status: 'paused',
      waitingFor: {
        kind: 'resume',
        wave: 2,
        message: 'resume after the breaker tripped (`rollout resume r-1`)',
      },
    };
    expect(renderSummary(paused).split('\n')[1]).toBe(
      '  paused for resume after the breaker tripped (`rollout resume r-1`)',
    );
  });

  it("shows a wave's own threshold", () => {
    const first: RolloutProgress = { ...inWaves, waves: { ...inWaves.waves!, current: 1 } };
    expect(renderSummary(first)).toContain(
      '  wave 1 of 4 done: 10 of 10 devices done, 0 failed (its threshold 5.0 %)',
    );
  });

  it('writes "no rate limit" for rate 0', () => {
    expect(liveText({ rate: 0, maxInFlight: 100, failureThreshold: 0.2 })).toBe(
      'no rate limit, max in flight 100, failure threshold 0.2',
    );
  });

  it('lists each wave in the report, and the pause action of the breaker', () => {
    const text = renderReport({
      ...report,
      ...inWaves,
      status: 'halted',
      settings: { ...report.settings, onBreaker: 'pause' },
    });
    expect(text).toContain('1: 10/10 ok · 2: 30/90 ok, 2 failed · 3: 0/400 ok · 4: 0/500 ok');
    expect(text).toContain('(on a trip: pause)');
  });

  it('leaves one-wave progress as it was', () => {
    const single: RolloutProgress = {
      ...progress,
      waves: { current: 1, list: [{ ...inWaves.waves!.list[0]!, devices: 1000, state: 'running' }] },
    };
    expect(progressLine(single, 12.5, 200)).toBe(progressLine(progress, 12.5, 200));
    expect(renderSummary(single, new Date(0))).toBe(renderSummary(progress, new Date(0)));
  });
});

describe('human output', () => {
  it('summarises a running rollout', () => {
    const text = renderSummary(progress, new Date('2030-01-01T00:03:12.000Z'));
    expect(text.split('\n')[0]).toBe('r-1  running  42%  420 of 1,000 devices done');
    expect(text).toContain('(3m 12s ago)');
  });

  it('reports a halted rollout with its breaker reason and failed devices', () => {
    const text = renderReport(report);
    expect(text.split('\n')[0]).toBe('rollout r-1 halted after 1m 0s');
    expect(text).toContain('tripped: failure ratio 0.3 exceeded the threshold 0.2');
    expect(text).toContain('dev-7  HttpServerError  after 5 attempts: HTTP 503');
    expect(text).toContain('12 MB');
  });

  it.each([
    [350, '350ms'],
    [4200, '4.2s'],
    [192_000, '3m 12s'],
    [3_720_000, '1h 2m'],
  ])('writes %d ms of elapsed time as %j', (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe('results lines', () => {
  it('writes the contract fields in order and leaves out absent ones', () => {
    expect(outcomeLine({ deviceId: 'a', outcome: 'succeeded', attempts: 1, status: 200 }, 3)).toBe(
      '{"deviceId":"a","outcome":"succeeded","attempts":1,"status":200,"batch":3}\n',
    );
    expect(
      outcomeLine(
        { deviceId: 'b', outcome: 'failed', attempts: 5, errorType: 'AttemptTimeout', message: 'slow' },
        0,
      ),
    ).toBe(
      '{"deviceId":"b","outcome":"failed","attempts":5,"errorType":"AttemptTimeout","message":"slow","batch":0}\n',
    );
  });
});

describe('generateRolloutId', () => {
  it('is rollout-YYYYMMDD-HHMMSS-xxxx in UTC', () => {
    expect(generateRolloutId(new Date('2030-04-05T06:07:08.999Z'))).toMatch(
      /^rollout-20300405-060708-[0-9a-z]{4}$/,
    );
  });
});

describe('RateMeter', () => {
  it('measures devices per second over its window', () => {
    const meter = new RateMeter(10_000);
    expect(meter.perSecond()).toBeNull();
    meter.add(0, 0);
    meter.add(1000, 50);
    meter.add(2000, 100);
    expect(meter.perSecond()).toBe(50);
    meter.add(20_000, 100);
    expect(meter.perSecond()).toBe(0);
  });
});

describe('isReport', () => {
  it('accepts a report and refuses what is not one', () => {
    expect(isReport(report)).toBe(true);
    expect(isReport(null)).toBe(false);
    expect(isReport({ rolloutId: 1 })).toBe(false);
  });
});
