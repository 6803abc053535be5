/**
 * The worker-side host allowlist (PUSH_ALLOW_HOSTS) in the real push activities: a device or
 * status URL outside it fails `HostNotAllowed` before any connection, whatever the fleet file
 * says. Run in a MockActivityEnvironment against the simulator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushGroup, type PushGroupInput, type PushGroupResult } from '../../activities/push-group.js';
import { createPushUpdate } from '../../activities/push.js';
import { FailureType } from '../../shared/failure-types.js';
import { HostAllowlist } from '../../shared/host-allowlist.js';
import type { ArtifactRef, DeviceTarget, PushInput } from '../../shared/types.js';
import { DeviceSimulator } from '../../simulator/index.js';
import { activityEnv, asFailure, runPush, testDispatcher, writeArtifact } from '../helpers/activity-run.js';

let dir: string;
let artifact: ArtifactRef;
let dispatcher: Agent;
let sim: DeviceSimulator;

function allowlist(text: string): HostAllowlist {
  const parsed = HostAllowlist.parse(text);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.allowlist;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'allow-hosts-'));
  artifact = await writeArtifact(dir, 'a.bin', Buffer.from('allowlisted artifact '.repeat(20)));
  dispatcher = testDispatcher();
  sim = await DeviceSimulator.start({ devices: ['d1', 'd2', 'd3'] });
});

afterAll(async () => {
  await sim.close();
  await dispatcher.close();
  await rm(dir, { recursive: true, force: true });
});

async function push(allowed: string, device: Partial<DeviceTarget>, extra: Partial<PushInput> = {}) {
  const pushUpdate = createPushUpdate({
    dispatcher,
    heartbeatIntervalMs: 50,
    allowHosts: allowlist(allowed),
  });
  const input: PushInput = {
    rolloutId: 'rollout-allow',
    device: { id: 'd1', url: sim.deviceUrl('d1'), priority: 0, ...device },
    artifact,
    attemptTimeoutMs: 3000,
    ...extra,
  };
  return await runPush(pushUpdate, input);
}

const port = (): string => new URL(sim.url).port;

describe('PUSH_ALLOW_HOSTS in the push activity', () => {
  it('pushes to an allowed host', async () => {
    sim.reset();
    expect(await push('127.0.0.1', {})).toMatchObject({ status: 200 });
    expect(await push(`localhost,127.0.0.1:${port()}`, {})).toMatchObject({ status: 200 });
  });

  it.each([
    ['another host', 'devices.example.com,*.example.net'],
    ['the same host on another port', '127.0.0.1:1'],
  ])(
    'fails a device on %s with a permanent HostNotAllowed, before connecting or resolving its token',
    async (_what, allowed) => {
      sim.reset();
      const failure = asFailure(await push(allowed, { token: 'env:ROLLOUT_TEST_TOKEN_NEVER_SET' }));
      expect(failure).toMatchObject({ type: FailureType.HostNotAllowed, nonRetryable: true });
      expect(failure.message).toBe(
        `device d1: device URL host 127.0.0.1:${port()} is not allowed by this worker's PUSH_ALLOW_HOSTS (${allowlist(allowed).toString()}); ` +
          'nothing was sent — fix the fleet file, or add the host to PUSH_ALLOW_HOSTS on every worker',
      );
      expect(sim.stats()).toMatchObject({ attempts: 0, connections: 0 });
    },
  );

  it('fails a device whose status URL is on a host not allowed, before pushing', async () => {
    sim.reset();
    const statusUrl = `http://localhost:${port()}/devices/d1/status`;
    const failure = asFailure(
      await push('127.0.0.1', { statusUrl }, { verify: { timeoutMs: 1000, intervalMs: 50 } }),
    );
    expect(failure).toMatchObject({ type: FailureType.HostNotAllowed, nonRetryable: true });
    expect(failure.message).toContain(`status URL host localhost:${port()} is not allowed`);
    expect(sim.stats()).toMatchObject({ attempts: 0, statusPolls: 0 });
  });

  it('fails such devices in a group push too, pushing the allowed ones', async () => {
    sim.reset();
    const pushGroup = createPushGroup({
      dispatcher,
      heartbeatIntervalMs: 50,
      allowHosts: allowlist('127.0.0.1'),
    });
    const devices: DeviceTarget[] = [
      { id: 'd1', url: sim.deviceUrl('d1'), priority: 0 },
      { id: 'd2', url: sim.deviceUrl('d2').replace('127.0.0.1', 'localhost'), priority: 0 },
      { id: 'd3', url: sim.deviceUrl('d3'), priority: 0 },
    ];
    const input: PushGroupInput = {
      rolloutId: 'rollout-allow-g',
      artifact,
      attemptTimeoutMs: 3000,
      devices,
      units: 3,
    };
    const env = activityEnv();
    const { results } = await env.run<[PushGroupInput], PushGroupResult, typeof pushGroup>(pushGroup, input);
    const byId = new Map(results.map((r) => [devices[r.i]!.id, r]));
    expect(byId.get('d1')).toMatchObject({ outcome: 'succeeded' });
    expect(byId.get('d2')).toMatchObject({ outcome: 'failed', errorType: FailureType.HostNotAllowed });
    expect(byId.get('d3')).toMatchObject({ outcome: 'succeeded' });
    expect(sim.attemptsFor('d2')).toEqual([]);
  });
});
