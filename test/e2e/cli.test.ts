/**
 * The CLI as users run it (`npm run --silent rollout -- …`), against the real dev server, an
 * in-process worker and a fleet file it has never seen (written by the simulator).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../scripts/lib/temporal-cli.js';
import type { DeviceOutcome, RolloutReport } from '../../workflows/definitions.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { CliRun } from '../helpers/cli.js';
import { lastJson, runRollout } from '../helpers/cli.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, prepareRollout, waitFor } from '../helpers/temporal-env.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv('cli');
  await env.startWorker();
});

afterAll(async () => {
  await env?.close();
});

const rollout = (args: string[]): Promise<CliRun> => runRollout(args, env.processEnv());

/** `start` with the fleet and artifact of a fresh fixture for `sim`, plus `flags`. */
async function start(sim: DeviceSimulator, ...flags: string[]): Promise<CliRun> {
  const { fleetPath, artifactPath } = await prepareRollout(env, sim);
  return await rollout(['start', '--fleet', fleetPath, '--artifact', artifactPath, ...flags]);
}

describe('rollout CLI', () => {
  it('runs a mixed fleet to completion with --wait --json and lists every device in results', async () => {
    // 40 devices: 0–3 flaky (two 503s), 4–5 permanent 404, 6 answers 429 Retry-After: 2 once.
    const sim = await env.simulator(40, (_id, i) => {
      if (i < 4) return { failure: { mode: 'status', status: 503, firstAttempts: 2 } };
      if (i < 6) return { failure: { mode: 'status', status: 404 } };
      if (i === 6) return { failure: { mode: 'retryAfter', status: 429, retryAfterS: 2, firstAttempts: 1 } };
      return {};
    });
    const id = `cli-mixed-${Date.now()}`;
    const run = await start(sim, '--id', id, '--wait', '--json');

    expect(run.code, run.stderr).toBe(0);
    const report = lastJson<RolloutReport>(run.stdout);
    expect(report).toMatchObject({ rolloutId: id, status: 'completed', total: 40, succeeded: 38, failed: 2 });
    expect(report.failures.map((f) => [f.deviceId, f.errorType, f.attempts])).toEqual(
      expect.arrayContaining([
        [sim.ids[4], 'HttpClientError', 1],
        [sim.ids[5], 'HttpClientError', 1],
      ]),
    );
    const gap = (d: number, a: number): number => {
      const at = sim.attemptsFor(sim.ids[d]!).map((x) => x.startedAt);
      return (at[a + 1]! - at[a]!) / 1000;
    };
    expect(gap(0, 0)).toBeGreaterThanOrEqual(0.9);
    expect(gap(0, 1)).toBeGreaterThanOrEqual(1.9);
    expect(gap(6, 0)).toBeGreaterThanOrEqual(2);

    const results = await rollout(['results', id]);
    expect(results.code, results.stderr).toBe(0);
    const lines = results.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeviceOutcome);
    expect(lines).toHaveLength(40);
    const byId = new Map(lines.map((l) => [l.deviceId, l]));
    expect(byId.get(sim.ids[0]!)).toMatchObject({ outcome: 'succeeded', attempts: 3 });
    expect(byId.get(sim.ids[4]!)).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      errorType: 'HttpClientError',
    });
    expect(byId.get(sim.ids[6]!)).toMatchObject({ outcome: 'succeeded', attempts: 2 });
    for (const id of sim.ids) expect(byId.get(id)?.attempts).toBe(sim.attemptsFor(id).length);
  });

  it('exits 2 with a halted report when the breaker trips', async () => {
    const sim = await env.simulator(200, (_id, i) =>
      i % 2 === 0 ? { failure: { mode: 'status', status: 500 } } : {},
    );
    const run = await start(sim, '--max-attempts', '2', '--initial-interval', '50ms', '--wait', '--json');

    expect(run.code, run.stderr).toBe(2);
    const report = lastJson<RolloutReport>(run.stdout);
    expect(report).toMatchObject({ status: 'halted', breaker: { tripped: true } });
    expect(report.notAttempted).toBeGreaterThan(100);
  });

  it('stops pushing after `temporal workflow cancel` and reports the rollout cancelled', async () => {
    const sim = await env.simulator(300, () => ({ latencyMs: 200 }));
    const id = `cli-cancel-${Date.now()}`;
    const started = await start(sim, '--id', id);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout.trim()).toBe(id);
    await waitFor(() => sim.stats().applied >= 10, 30_000, 'pushes to start');

    const temporal = await findTemporalCli({ install: false });
    await promisify(execFile)(temporal!, [
      'workflow',
      'cancel',
      '--workflow-id',
      id,
      '--address',
      env.address,
    ]);
    const cancelledAt = Date.now();
    const status = await rollout(['status', id, '--follow', '--json']);

    expect(status.code, status.stderr).toBe(3);
    expect(lastJson<RolloutReport>(status.stdout)).toMatchObject({ rolloutId: id, status: 'cancelled' });
    // The contract: no push starts later than a second after the cancel request.
    expect(sim.attempts.filter((a) => a.startedAt > cancelledAt + 1000)).toEqual([]);
    expect(sim.stats().devicesApplied).toBeLessThan(300);
    const list = await rollout(['list', '--json']);
    expect(list.stdout).toContain(id);
  });

  it('names an unknown rollout id and exits 1', async () => {
    const run = await rollout(['status', 'no-such-rollout']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no rollout "no-such-rollout"');
  });
});
