/**
 * Fast mode's large batches (up to 5,000 devices) against a dev server of their own, whose
 * pending-activity limit is lowered so that a batch scheduling more per-device retries than it
 * may would stall instead of passing by luck.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevServer } from '../../scripts/lib/dev-server.js';
import { startDevServer } from '../../scripts/lib/dev-server.js';
import { batchWorkflowId, SEARCH_ATTRIBUTE_TYPES } from '../../workflows/definitions.js';
import { PushMode } from '../../workflows/settings.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout, waitFor } from '../helpers/temporal-env.js';

/** Below Temporal's default of 2,000, above the 1,000 per-device pushes a batch keeps pending. */
const PENDING_ACTIVITY_LIMIT = 1100;
/** Temporal's payload warning: no activity input or result of a batch may come near it. */
const PAYLOAD_WARNING_BYTES = 512 * 1024;

let server: DevServer;
let env: TestEnv;

beforeAll(async () => {
  server = await startDevServer({
    ui: false,
    searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
    dynamicConfig: { 'limit.numPendingActivities.error': PENDING_ACTIVITY_LIMIT },
  });
  env = await createTestEnv('fast-batches', server.address);
  await env.startWorker();
}, 60_000);

afterAll(async () => {
  await env?.close();
  await server?.stop();
});

type HistoryEvents = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>;

async function batchEvents(rolloutId: string, batch: number): Promise<HistoryEvents> {
  return (await env.client.workflow.getHandle(batchWorkflowId(rolloutId, batch)).fetchHistory()).events ?? [];
}

const payloadBytes = (payloads: { data?: Uint8Array | null }[] | null | undefined): number =>
  (payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);

describe('fast mode with batches over 1,000 devices', () => {
  it('loads a 2,500-device batch in chunks of 1,000, keeps every payload small and pushes each device once', async () => {
    const sim = await env.simulator(2500);
    const { input } = await prepareRollout(env, sim, { settings: { mode: PushMode.Fast, batchSize: 2500 } });
    const handle = await startRollout(env, input);
    const ending = await outcomeOf(handle);

    expect(ending.report).toMatchObject({ status: 'completed', total: 2500, succeeded: 2500, failed: 0 });
    expect(ending.report?.batches.total).toBe(1);
    expect(sim.stats()).toMatchObject({ devicesApplied: 2500, duplicates: 0 });

    const events = await batchEvents(handle.workflowId, 0);
    const scheduled = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
    );
    const loads = scheduled.filter((a) => a.activityType?.name === 'loadDevices');
    expect(loads).toHaveLength(3);
    const groups = scheduled.filter((a) => a.activityType?.name === 'pushGroup');
    expect(groups.length).toBeGreaterThan(0);
    const largestInput = Math.max(...scheduled.map((a) => payloadBytes(a.input?.payloads)));
    const largestResult = Math.max(
      ...events.map((e) => payloadBytes(e.activityTaskCompletedEventAttributes?.result?.payloads)),
    );
    expect(largestInput).toBeLessThan(PAYLOAD_WARNING_BYTES);
    expect(largestResult).toBeLessThan(PAYLOAD_WARNING_BYTES);
  });

  it('keeps priority order across batches when the fleet has more than one priority (no overlap)', async () => {
    // Critical devices answer slowly, so a batch of them lasts long enough for the next to
    // overlap it if it were allowed to.
    const sim = await env.simulator(600, (_id, i) => ({ latencyMs: i >= 300 ? [100, 200] : [1, 10] }));
    // The last 300 in the file are critical: they go first, in batches 0–2 of 100. The breaker
    // is off (threshold 1) so that its slow start cannot be what keeps batches apart.
    const { input } = await prepareRollout(env, sim, {
      settings: { mode: PushMode.Fast, batchSize: 100, maxInFlight: 50, failureThreshold: 1 },
      priority: (_id, i) => (i >= 300 ? 5 : 0),
    });
    const ending = await outcomeOf(await startRollout(env, input));
    expect(ending.report).toMatchObject({ status: 'completed', succeeded: 600 });

    const firstStart = (id: string): number => sim.attemptsFor(id)[0]!.startedAt;
    const critical = sim.ids.slice(300).map(firstStart);
    const others = sim.ids.slice(0, 300).map(firstStart);
    expect(Math.max(...critical)).toBeLessThanOrEqual(Math.min(...others));
  });

  it('lets neighbouring batches push at once in a fleet of one priority', async () => {
    const sim = await env.simulator(400, () => ({ latencyMs: [50, 100] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { mode: PushMode.Fast, batchSize: 100, maxInFlight: 50, failureThreshold: 1 },
    });
    const ending = await outcomeOf(await startRollout(env, input));
    expect(ending.report).toMatchObject({ status: 'completed', succeeded: 400 });

    const firstStart = (id: string): number => sim.attemptsFor(id)[0]!.startedAt;
    // Batch 1 started before batch 0 had started all its devices.
    expect(Math.min(...sim.ids.slice(100, 200).map(firstStart))).toBeLessThan(
      Math.max(...sim.ids.slice(0, 100).map(firstStart)),
    );
  });

  it(`keeps at most 1,000 per-device retries pending when 1,500 devices of one batch fail their first attempt (server refuses over ${PENDING_ACTIVITY_LIMIT})`, async () => {
    const devices = 1500;
    const sim = await env.simulator(devices, () => ({
      failure: { mode: 'status', status: 503, firstAttempts: 1 },
    }));
    const { input } = await prepareRollout(env, sim, {
      settings: {
        mode: PushMode.Fast,
        batchSize: devices,
        maxInFlight: devices,
        failureThreshold: 1,
        initialIntervalMs: 3000,
      },
    });
    const handle = await startRollout(env, input);
    // Every first attempt fails before any retry is due (3 s); then the retries answer slowly,
    // so all of them would be pending at once if the batch scheduled them all.
    await waitFor(() => sim.ids.every((id) => sim.attemptsFor(id).length >= 1), 30_000);
    expect(sim.ids.every((id) => sim.attemptsFor(id).length === 1)).toBe(true);
    sim.setAllBehaviors({ latencyMs: 1500 });
    const ending = await outcomeOf(handle);

    expect(ending.report).toMatchObject({
      status: 'completed',
      total: devices,
      succeeded: devices,
      failed: 0,
    });
    for (const id of sim.ids) expect(sim.attemptsFor(id).map((a) => a.status)).toEqual([503, 200]);
    expect(sim.stats().duplicates).toBe(0);
  }, 90_000);
});
