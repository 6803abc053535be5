import { describe, expect, it } from 'vitest';
import { BatchOutcomes, MAX_FAILURE_SAMPLES } from '../../workflows/batch-outcomes.js';
import { decodeBatchResult } from '../../workflows/batch-result.js';
import type { BatchInput } from '../../workflows/definitions.js';

const input = (count: number): BatchInput => ({ batch: 3, start: 1500, count }) as BatchInput;
const devices = (count: number): { id: string; url: string; priority: number }[] =>
  Array.from({ length: count }, (_, i) => ({ id: `dev-${i}`, url: 'http://127.0.0.1/', priority: 0 }));

describe('batch result', () => {
  it('gives every device of the slice its outcome, attempts, status and failure', () => {
    const outcomes = new BatchOutcomes(4);
    outcomes.succeeded(0, 3, 200);
    outcomes.failed(1, 'dev-1', {
      errorType: 'HttpClientError',
      message: 'HTTP 404',
      attempts: 1,
      status: 404,
    });
    outcomes.aborted(2);
    const result = outcomes.result(input(4), devices(4));
    const known = new BatchOutcomes(1);
    known.aborted(0, 2);
    expect(decodeBatchResult(known.result(input(1), devices(1)))[0]).toMatchObject({
      outcome: 'aborted',
      attempts: 2,
    });

    expect(result).toMatchObject({
      batch: 3,
      start: 1500,
      succeeded: 1,
      failed: 1,
      aborted: 1,
      notAttempted: 1,
    });
    expect(decodeBatchResult(JSON.parse(JSON.stringify(result)) as typeof result)).toEqual([
      { deviceId: 'dev-0', outcome: 'succeeded', attempts: 3, status: 200 },
      {
        deviceId: 'dev-1',
        outcome: 'failed',
        attempts: 1,
        status: 404,
        errorType: 'HttpClientError',
        message: 'HTTP 404',
      },
      { deviceId: 'dev-2', outcome: 'aborted', attempts: null },
      { deviceId: 'dev-3', outcome: 'notAttempted', attempts: 0 },
    ]);
  });

  it('samples up to MAX_FAILURE_SAMPLES failures in its final report, so a one-batch rollout lists as many as the rollout keeps', () => {
    const outcomes = new BatchOutcomes(30);
    for (let i = 0; i < 25; i++)
      outcomes.failed(i, `dev-${i}`, { errorType: 'HttpServerError', message: 'HTTP 500', attempts: 5 });
    const report = outcomes.report(0, 0, 5, { done: true });
    expect(report.samples).toHaveLength(MAX_FAILURE_SAMPLES);
    expect(report.samples?.map((s) => s.deviceId)).toEqual(
      Array.from({ length: MAX_FAILURE_SAMPLES }, (_, i) => `dev-${i}`),
    );
  });

  it('leaves devices unnamed when the slice was never loaded', () => {
    const result = new BatchOutcomes(2).result(input(2), []);
    expect(decodeBatchResult(result)).toEqual([undefined, undefined]);
  });

  it('stays compact: a 1,000-device batch result is under 25 KB of JSON', () => {
    const outcomes = new BatchOutcomes(1000);
    for (let i = 0; i < 1000; i++) outcomes.succeeded(i, 1, 200);
    const ids = Array.from({ length: 1000 }, (_, i) => ({
      id: `dev-${String(i).padStart(6, '0')}`,
      url: '',
      priority: 0,
    }));
    expect(JSON.stringify(outcomes.result(input(1000), ids)).length).toBeLessThan(25_000);
  });
});
