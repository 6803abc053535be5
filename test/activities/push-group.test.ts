/**
 * The fast path's group push, run in a MockActivityEnvironment (the activity Context only)
 * against the simulator as real HTTP devices.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushGroupInput, PushGroupResult } from '../../activities/push-group.js';
import { createPushGroup } from '../../activities/push-group.js';
import type { ArtifactRef, VerifySpec } from '../../shared/types.js';
import type { DeviceBehavior } from '../../simulator/index.js';
import { DeviceSimulator } from '../../simulator/index.js';
import { activityEnv, quietLogger, testDispatcher, writeArtifact } from '../helpers/activity-run.js';

let dir: string;
let artifact: ArtifactRef;
let dispatcher: Agent;
let pushGroup: (input: PushGroupInput) => Promise<PushGroupResult>;
const sims: DeviceSimulator[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'push-group-'));
  artifact = await writeArtifact(dir, 'a.bin', Buffer.from('group artifact '.repeat(50)));
  dispatcher = testDispatcher(16);
  pushGroup = createPushGroup({ dispatcher, heartbeatIntervalMs: 50 });
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  await dispatcher.close();
  await rm(dir, { recursive: true, force: true });
});

async function fleet(
  n: number,
  behavior: (id: string, i: number) => DeviceBehavior,
): Promise<DeviceSimulator> {
  const sim = await DeviceSimulator.start({ devices: n, behavior });
  sims.push(sim);
  return sim;
}

function groupOf(sim: DeviceSimulator, units: number): PushGroupInput {
  const devices = sim.ids.map((id) => ({ id, url: sim.deviceUrl(id), priority: 0 }));
  return { rolloutId: 'rollout-g1', artifact, attemptTimeoutMs: 3000, devices, units };
}

const run = (env: MockActivityEnvironment, input: PushGroupInput): Promise<PushGroupResult> =>
  env.run<[PushGroupInput], PushGroupResult, typeof pushGroup>(pushGroup, input);

const byIndex = (result: PushGroupResult): Map<number, PushGroupResult['results'][number]> =>
  new Map(result.results.map((r) => [r.i, r]));

describe('pushGroup', () => {
  it('makes one first attempt per device and says which to retry, fail or keep', async () => {
    const behaviors: DeviceBehavior[] = [
      {},
      { failure: { mode: 'status', status: 404 } },
      { failure: { mode: 'status', status: 503 } },
      { failure: { mode: 'retryAfter', status: 429, retryAfterS: 3 } },
      {},
      {},
    ];
    const sim = await fleet(6, (_id, i) => behaviors[i]!);
    const result = await run(activityEnv(), groupOf(sim, 6));
    const r = byIndex(result);

    expect(result.results).toHaveLength(6);
    expect(r.get(0)).toMatchObject({ outcome: 'succeeded', attempt: 1, status: 200 });
    expect(r.get(1)).toMatchObject({ outcome: 'failed', errorType: 'HttpClientError', status: 404 });
    expect(r.get(2)).toMatchObject({ outcome: 'retry', errorType: 'HttpServerError', status: 503 });
    expect(r.get(3)).toMatchObject({ outcome: 'retry', errorType: 'HttpRateLimited', retryDelayMs: 3000 });
    expect(sim.stats().attempts).toBe(6);
  });

  it('starts no push once pushes in flight plus failures reach its units', async () => {
    const sim = await fleet(10, () => ({ failure: { mode: 'status', status: 500 } }));
    const result = await run(activityEnv(), groupOf(sim, 3));

    expect(result.results.map((r) => r.outcome)).toEqual(['retry', 'retry', 'retry']);
    expect(sim.stats().attempts).toBe(3);
  });

  it('resumes from its heartbeat details: done devices are not pushed again', async () => {
    const sim = await fleet(4, () => ({}));
    const previous = {
      results: [{ i: 0, outcome: 'succeeded', attempt: 1, status: 200 }],
      started: [0, 1],
    };
    const env = activityEnv({ attempt: 2, heartbeatDetails: previous });
    const result = await run(env, groupOf(sim, 4));
    const r = byIndex(result);

    expect(sim.attemptsFor(sim.ids[0]!)).toHaveLength(0);
    expect(r.get(0)).toMatchObject({ outcome: 'succeeded', attempt: 1 });
    expect(r.get(1)).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    expect(r.get(3)).toMatchObject({ outcome: 'succeeded', attempt: 1 });
  });

  it('aborts the pushes in flight when cancelled and returns what it did', async () => {
    const sim = await fleet(6, (_id, i) => (i < 2 ? {} : { failure: { mode: 'hang' } }));
    const env = activityEnv();
    const running = run(env, groupOf(sim, 6));
    while (sim.stats().inFlight < 4) await new Promise((r) => setTimeout(r, 20));
    const cancelledAt = Date.now();
    env.cancel();
    const result = await running;

    expect(Date.now() - cancelledAt).toBeLessThan(500);
    const outcomes = result.results.map((r) => r.outcome).sort();
    expect(outcomes).toEqual(['aborted', 'aborted', 'aborted', 'aborted', 'succeeded', 'succeeded']);
  });
});

describe('pushGroup with verified completion', () => {
  const verifyOf = (sim: DeviceSimulator): VerifySpec => ({
    urlTemplate: sim.statusUrlTemplate,
    timeoutMs: 300,
    intervalMs: 50,
  });

  it('succeeds a device once it confirms and fails one that never does with VerifyTimeout', async () => {
    const behaviors: DeviceBehavior[] = [{ confirm: { delayMs: 100 } }, { confirm: { never: true } }, {}];
    const sim = await fleet(3, (_id, i) => behaviors[i]!);
    const input = { ...groupOf(sim, 3), verify: verifyOf(sim) };
    const result = await run(activityEnv(), input);
    const r = byIndex(result);

    expect(r.get(0)).toMatchObject({ outcome: 'succeeded', attempt: 1, status: 200 });
    expect(r.get(1)).toMatchObject({ outcome: 'failed', attempt: 1, errorType: 'VerifyTimeout' });
    expect(r.get(1)?.message).toMatch(
      new RegExp(
        `^device ${sim.ids[1]}: accepted the update but did not report it within the verify timeout`,
      ),
    );
    expect(r.get(1)).not.toHaveProperty('failedAt'); // permanent: the workflow does not retry it
    expect(r.get(2)).toMatchObject({ outcome: 'succeeded', attempt: 1 });
    expect(sim.stats()).toMatchObject({ attempts: 3, applied: 3 });
  });

  it('keeps a device under verification in flight, holding its unit until it confirms', async () => {
    const sim = await fleet(2, (_id, i) => (i === 0 ? { confirm: { delayMs: 250 } } : {}));
    const input = { ...groupOf(sim, 1), verify: { ...verifyOf(sim), timeoutMs: 2000 } };
    const result = await run(activityEnv(), input);

    expect(result.results.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
    const [first] = sim.attemptsFor(sim.ids[0]!);
    const [second] = sim.attemptsFor(sim.ids[1]!);
    expect(second!.startedAt - first!.endedAt).toBeGreaterThanOrEqual(240);
  });

  it('counts a device that failed verification against its units', async () => {
    const sim = await fleet(3, () => ({ confirm: { never: true } }));
    const input = { ...groupOf(sim, 1), verify: verifyOf(sim) };
    const result = await run(activityEnv(), input);

    expect(result.results).toMatchObject([{ i: 0, outcome: 'failed', errorType: 'VerifyTimeout' }]);
    expect(sim.stats().attempts).toBe(1);
  });

  it('aborts verifications in flight when cancelled', async () => {
    const sim = await fleet(2, () => ({ confirm: { never: true } }));
    const input = { ...groupOf(sim, 2), verify: { ...verifyOf(sim), timeoutMs: 60_000 } };
    const env = activityEnv();
    const running = run(env, input);
    while (sim.stats().statusPolls < 2) await new Promise((r) => setTimeout(r, 20));
    const cancelledAt = Date.now();
    env.cancel();
    const result = await running;

    expect(Date.now() - cancelledAt).toBeLessThan(500);
    expect(result.results.map((r) => r.outcome)).toEqual(['aborted', 'aborted']);
  });

  it('after a crash, pushes a device whose verification never finished again and verifies it', async () => {
    const sim = await fleet(1, () => ({}));
    const input = { ...groupOf(sim, 1), verify: verifyOf(sim) };
    await run(activityEnv(), input);
    // The worker died after the push, before the device was recorded: started, no result.
    const env = new MockActivityEnvironment(
      { attempt: 2, heartbeatDetails: { results: [], started: [0] } },
      { logger: quietLogger },
    );
    const result = await run(env, input);

    expect(result.results).toMatchObject([{ i: 0, outcome: 'succeeded', attempt: 2 }]);
    expect(sim.attemptsFor(sim.ids[0]!).map((a) => a.outcome)).toEqual(['applied', 'duplicate']);
    expect(sim.stats().statusPolls).toBe(2);
  });
});
