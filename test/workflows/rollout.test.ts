/**
 * The rollout workflow end to end: a real dev server, a real worker, the simulator as the
 * fleet. Intervals are scaled down where only ratios matter.
 */
import { writeFileSync } from 'node:fs';
import type { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressQuery } from '../../workflows/definitions.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout, waitFor } from '../helpers/temporal-env.js';

let env: TestEnv;
type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

beforeAll(async () => {
  env = await createTestEnv('rollout');
  await env.startWorker();
});

afterAll(async () => {
  await env?.close();
});

/** Gaps in seconds between consecutive attempts of one device. */
function gaps(sim: DeviceSimulator, id: string): number[] {
  const starts = sim.attemptsFor(id).map((a) => a.startedAt);
  return starts.slice(1).map((t, i) => (t - starts[i]!) / 1000);
}

describe.each(['per-device', 'fast'] as const)('rolloutWorkflow in %s mode', (mode) => {
  it('pushes every device exactly once within the in-flight cap, batches overlapping', async () => {
    const sim = await env.simulator(300, (_id, i) => ({ latencyMs: i === 99 ? 3000 : [5, 30] }));
    const { input } = await prepareRollout(env, sim, { settings: { mode, batchSize: 100, maxInFlight: 20 } });
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.status).toBe('completed');
    expect(ending.report).toMatchObject({
      total: 300,
      succeeded: 300,
      failed: 0,
      aborted: 0,
      notAttempted: 0,
    });
    const stats = sim.stats();
    expect(stats.devicesApplied).toBe(300);
    expect(stats.duplicates).toBe(0);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(20);
    // Batch 1 started while batch 0's slow last device (3 s) was still being pushed.
    const slow = sim.attemptsFor(sim.ids[99]!)[0]!;
    const batch1First = Math.min(...sim.ids.slice(100, 200).map((id) => sim.attemptsFor(id)[0]!.startedAt));
    expect(batch1First).toBeLessThan(slow.endedAt);
  });

  it('retries flaky devices with ~1 s then ~2 s between attempts until they succeed', async () => {
    const sim = await env.simulator(30, (_id, i) =>
      i < 5 ? { failure: { mode: 'status', status: 503, firstAttempts: 2 } } : {},
    );
    const { input } = await prepareRollout(env, sim, { settings: { mode } });
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.report).toMatchObject({ succeeded: 30, failed: 0 });
    for (const id of sim.ids.slice(0, 5)) {
      expect(sim.attemptsFor(id).map((a) => a.status)).toEqual([503, 503, 200]);
      // Lower bounds are the retry policy's; upper bounds leave room for a loaded 2-core
      // machine (scheduling adds latency, never removes it) while still telling ~1 s then
      // ~2 s apart from a fixed interval or a much longer one.
      const [first, second] = gaps(sim, id);
      expect(first).toBeGreaterThanOrEqual(0.9);
      expect(first).toBeLessThan(2.5);
      expect(second).toBeGreaterThanOrEqual(1.9);
      expect(second).toBeLessThan(4.5);
    }
  });

  it('fails a 404 device after exactly one attempt (permanent) and says why', async () => {
    const sim = await env.simulator(25, (_id, i) =>
      i === 3 ? { failure: { mode: 'status', status: 404 } } : {},
    );
    const { input } = await prepareRollout(env, sim, { settings: { mode } });
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.report).toMatchObject({ succeeded: 24, failed: 1 });
    expect(sim.attemptsFor(sim.ids[3]!)).toHaveLength(1);
    expect(ending.report?.failures).toEqual([
      expect.objectContaining({ deviceId: sim.ids[3], errorType: 'HttpClientError', attempts: 1 }),
    ]);
  });

  it('waits at least the Retry-After of a 429 before the next attempt', async () => {
    const sim = await env.simulator(1, () => ({
      failure: { mode: 'retryAfter', status: 429, retryAfterS: 2, firstAttempts: 1 },
    }));
    const { input } = await prepareRollout(env, sim, {
      settings: { mode, initialIntervalMs: 100, minSamples: 1 },
    });
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.report).toMatchObject({ succeeded: 1 });
    const [gap] = gaps(sim, sim.ids[0]!);
    expect(gap).toBeGreaterThanOrEqual(2);
  });

  it('halts when half the devices always fail, leaving devices not attempted', async () => {
    const sim = await env.simulator(400, (_id, i) =>
      i % 2 === 0 ? { failure: { mode: 'status', status: 500 } } : {},
    );
    const { input } = await prepareRollout(env, sim, {
      settings: { mode, maxAttempts: 2, initialIntervalMs: 50, batchSize: 100, maxInFlight: 50 },
    });
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.status).toBe('halted');
    const report = ending.report!;
    expect(report.status).toBe('halted');
    expect(report.breaker.tripped).toBe(true);
    expect(report.breaker.reason).toMatch(/exceeded the threshold 0.2/);
    expect(report.notAttempted).toBeGreaterThan(300);
    expect(report.succeeded + report.failed + report.aborted + report.notAttempted).toBe(400);
    // Failure permits keep failures the rollout has not heard of within the breaker's headroom,
    // so it trips within a few devices of min-samples, not after 50 in-flight failures.
    expect(report.succeeded + report.failed).toBeLessThanOrEqual(input.settings.minSamples + 4);
    const pushedDevices = new Set(sim.attempts.map((a) => a.deviceId));
    expect(pushedDevices.size).toBe(report.succeeded + report.failed + report.aborted);
  });

  it('stops new pushes and aborts those in flight when cancelled', async () => {
    const sim = await env.simulator(200, () => ({ latencyMs: 400 }));
    const { input } = await prepareRollout(env, sim, { settings: { mode, maxInFlight: 10, batchSize: 50 } });
    const handle = await startRollout(env, input);
    await waitFor(() => sim.stats().applied >= 20, 30_000, '20 devices applied');
    await handle.cancel();
    const cancelledAt = Date.now();
    const ending = await outcomeOf(handle);

    expect(ending.status).toBe('cancelled');
    expect(ending.report).toMatchObject({ status: 'cancelled' });
    // The contract: nothing starts later than a second after the cancel (per device the batch
    // stops scheduling at once; a group push hears of it at its next 0.2 s heartbeat).
    const reactionMs = 1000;
    const late = sim.attempts.filter((a) => a.startedAt > cancelledAt + reactionMs);
    expect(late).toEqual([]);
    expect(sim.stats().inFlight).toBe(0);
    const report = ending.report!;
    expect(report.succeeded + report.aborted + report.notAttempted).toBe(200);
    expect(report.notAttempted).toBeGreaterThan(100);
    expect(sim.attempts.filter((a) => a.aborted).length).toBe(report.aborted);
  });

  it('continues-as-new while batches run and still pushes every device exactly once', async () => {
    const sim = await env.simulator(80, () => ({ latencyMs: [5, 40] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { mode, batchSize: 5, maxInFlight: 8, maxEventsPerRun: 150 },
    });
    const handle = await startRollout(env, input);
    const ending = await outcomeOf(handle);

    expect(ending.report).toMatchObject({ status: 'completed', succeeded: 80, failed: 0 });
    expect(ending.report?.run).toBeGreaterThanOrEqual(1);
    expect(sim.stats().devicesApplied).toBe(80);
    expect(sim.stats().duplicates).toBe(0);
    // Every run stayed near its limit (a workflow task may add a few events past it).
    const lengths: number[] = [];
    for (let run: string | undefined = handle.firstExecutionRunId; run;) {
      const history: History = await env.client.workflow.getHandle(handle.workflowId, run).fetchHistory();
      const events = history.events ?? [];
      lengths.push(events.length);
      const next: string | null | undefined =
        events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      run = next ?? undefined;
    }
    const runs = lengths.length;
    expect(Math.max(...lengths)).toBeLessThan(150 + 60);
    expect(runs).toBe((ending.report?.run ?? 0) + 1);
  });

  it('answers the progress query while running', async () => {
    const sim = await env.simulator(60, () => ({ latencyMs: 300 }));
    const { input } = await prepareRollout(env, sim, { settings: { mode, maxInFlight: 5 } });
    const handle = await startRollout(env, input);
    await waitFor(() => sim.stats().applied >= 5, 30_000, 'first devices applied');
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({ status: 'running', total: 60 });
    expect(progress.inFlight).toBeLessThanOrEqual(5);
    await handle.cancel();
    await outcomeOf(handle);
  });
});

describe('artifact check at start', () => {
  it('fails the start with ArtifactChanged, before any push, when the artifact changed after the client hashed it', async () => {
    const sim = await env.simulator(10);
    const { input, artifactPath } = await prepareRollout(env, sim);
    writeFileSync(artifactPath, 'a different firmware');
    const ending = await outcomeOf(await startRollout(env, input));

    expect(ending.status).toBe('failed');
    // The workflow fails with the activity's failure (ActivityFailure → ApplicationFailure).
    const cause = (ending.error as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause.type).toBe('ArtifactChanged');
    expect(cause.message).toMatch(/changed after the rollout was started/);
    expect(sim.attempts).toHaveLength(0);
  });
});
