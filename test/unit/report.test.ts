import { describe, expect, it } from 'vitest';
import type { RolloutProgress } from '../../workflows/definitions.js';
import { detailsMarkdown } from '../../workflows/report.js';

const progress = (over: Partial<RolloutProgress> = {}): RolloutProgress => ({
  rolloutId: 'r1',
  status: 'running',
  total: 1000,
  succeeded: 90,
  failed: 10,
  aborted: 0,
  inFlight: 5,
  notAttempted: 895,
  failureRatio: 0.1,
  breaker: { tripped: false, reason: null },
  batches: { total: 4, started: 2, done: 1, running: 1 },
  failuresByType: {},
  startedAt: '2026-12-02T00:00:00.000Z',
  run: 0,
  batchSize: 500,
  fleet: { path: '/f', count: 1000, sha256: 'x' },
  waves: {
    current: 2,
    list: [
      { wave: 1, devices: 10, failureThreshold: 0.05, state: 'done', succeeded: 10, failed: 0, aborted: 0 },
      {
        wave: 2,
        devices: 990,
        failureThreshold: null,
        state: 'running',
        succeeded: 80,
        failed: 10,
        aborted: 0,
      },
    ],
  },
  waitingFor: null,
  live: { rate: 50, maxInFlight: 100, failureThreshold: 0.2 },
  etaSeconds: 18,
  ...over,
});

describe('current details for the Web UI', () => {
  it('shows the wave, counts, failure ratio, breaker, rate and ETA', () => {
    const text = detailsMarkdown(progress());
    expect(text).toContain('**Rollout running** — 10 % (100 / 1000 devices)');
    expect(text).toContain('| 90 | 10 | 5 | 0 | 895 | 0.100 |');
    expect(text).toContain('Breaker: closed');
    expect(text).toContain('Wave 2 of 2 (running): 80 succeeded, 10 failed of 990');
    expect(text).toContain('Rate: 50 devices/s; max in flight 100; failure threshold 0.2');
    expect(text).toContain('ETA: 18 s');
  });

  it('says what a waiting rollout waits for, and a tripped breaker why', () => {
    const text = detailsMarkdown(
      progress({
        status: 'paused',
        etaSeconds: null,
        breaker: { tripped: true, reason: 'breaker tripped: failure ratio 0.300' },
        waitingFor: { kind: 'resume', wave: 2, message: 'resume (`rollout resume r1`) — breaker tripped' },
      }),
    );
    expect(text).toContain('**Waiting for** resume (`rollout resume r1`) — breaker tripped');
    expect(text).toContain('Breaker: **TRIPPED**: breaker tripped: failure ratio 0.300');
    expect(text).not.toContain('ETA');
  });

  it('leaves waves out of a rollout without them', () => {
    const one = progress({
      waves: {
        current: 1,
        list: [
          {
            wave: 1,
            devices: 1000,
            failureThreshold: null,
            state: 'running',
            succeeded: 0,
            failed: 0,
            aborted: 0,
          },
        ],
      },
    });
    expect(detailsMarkdown(one)).not.toMatch(/Wave \d/);
  });
});
