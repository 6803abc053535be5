/**
 * Operator control as users run it (`npm run --silent rollout -- pause|resume|approve|promote|
 * set …`) against the real dev server, an in-process worker and the simulated fleet: each
 * command's one-line answer, its refusals, and what the devices saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutProgress, RolloutReport } from '../../workflows/definitions.js';
import { progressQuery } from '../../workflows/definitions.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { CliRun } from '../helpers/cli.js';
import { lastJson, runRollout } from '../helpers/cli.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, prepareRollout, waitFor } from '../helpers/temporal-env.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv('cli-control');
  await env.startWorker();
});

afterAll(async () => {
  await env?.close();
});

const rollout = (args: string[]): Promise<CliRun> => runRollout(args, env.processEnv());

/** Starts a rollout of `sim`'s fleet through the CLI under a fresh id; returns the id. */
async function start(sim: DeviceSimulator, name: string, ...flags: string[]): Promise<string> {
  const { fleetPath, artifactPath } = await prepareRollout(env, sim);
  const id = `cli-${name}-${Date.now()}`;
  const run = await rollout([
    'start',
    '--fleet',
    fleetPath,
    '--artifact',
    artifactPath,
    '--id',
    id,
    ...flags,
  ]);
  expect(run.code, run.stderr).toBe(0);
  return id;
}

/** Waits (querying directly, not through the CLI) until the rollout's progress matches. */
async function waitForProgress(
  id: string,
  predicate: (p: RolloutProgress) => boolean,
  what: string,
): Promise<void> {
  const handle = env.client.workflow.getHandle(id);
  await waitFor(
    async () => {
      const progress = await handle.query(progressQuery).catch(() => undefined); // still freezing
      return progress !== undefined && predicate(progress);
    },
    30_000,
    what,
  );
}

const isWaiting =
  (kind: 'approval' | 'bake') =>
  (p: RolloutProgress): boolean =>
    p.status === 'waiting' && p.waitingFor?.kind === kind;

/** Runs `rollout status ID --follow --json` and returns the final report. */
async function follow(id: string): Promise<RolloutReport> {
  const run = await rollout(['status', id, '--follow', '--json']);
  expect(run.code, run.stderr).toBe(0);
  return lastJson<RolloutReport>(run.stdout);
}

describe('rollout pause, resume and set', () => {
  it('pauses with a reason, refuses what does not apply, changes live settings, resumes to the end', async () => {
    const sim = await env.simulator(60, () => ({ latencyMs: 200 }));
    const id = await start(sim, 'pause', '--max-in-flight', '4', '--batch-size', '20');
    await waitFor(() => sim.stats().devicesApplied >= 6, 30_000, 'a few devices');

    const paused = await rollout(['pause', id, '--reason', 'canary metrics']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(
      new RegExp(
        `^rollout ${id} paused \\(canary metrics\\): (\\d+ push(es)? in flight will finish|no push is in flight), ` +
          `no new push starts — \`rollout resume ${id}\` continues it\\n$`,
      ),
    );
    // Pushes in flight finish, then nothing new starts.
    await new Promise((r) => setTimeout(r, 1000));
    const seen = sim.attempts.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(sim.attempts.length).toBe(seen);
    expect(seen).toBeLessThan(60);

    const status = await rollout(['status', id]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.split('\n')[0]).toMatch(/^\S+ {2}paused {2}/);
    expect(status.stdout).toContain(`paused for resume (\`rollout resume ${id}\`) — canary metrics`);

    // Visibility is eventually consistent: the paused status reaches `list` a moment later.
    let listed: CliRun | undefined;
    await waitFor(
      async () =>
        (listed = await rollout(['list', '--status', 'paused,waiting', '--json'])).stdout.includes(id),
      20_000,
      'the paused rollout in `list --status paused,waiting`',
    );
    expect(listed?.stdout).toContain('"status":"paused"');

    const again = await rollout(['pause', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`^rollout pause: rollout "${id}" is already paused \\(it is paused`),
    );
    const approve = await rollout(['approve', id]);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(
      new RegExp(`^rollout approve: rollout "${id}" is not waiting for approval \\(it is paused`),
    );

    const set = await rollout(['set', id, '--max-in-flight', '8', '--rate', '50/s']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      `rollout ${id} now runs with rate 50/s, max in flight 8, failure threshold 0.2\n`,
    );
    const json = await rollout(['status', id, '--json']);
    expect(lastJson<RolloutProgress>(json.stdout).live).toEqual({
      rate: 50,
      maxInFlight: 8,
      failureThreshold: 0.2,
    });
    const refused = await rollout(['set', id, '--failure-threshold', '1.5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'rollout set: --failure-threshold: must be a ratio from 0 to 1, e.g. 0.2 (got "1.5")\n',
    );

    const resumed = await rollout(['resume', id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(`^rollout ${id} resumed: (pushing again|it ended completed)\\n$`),
    );
    expect(await follow(id)).toMatchObject({ status: 'completed', succeeded: 60, failed: 0 });
    expect(sim.stats().duplicates).toBe(0);

    const late = await rollout(['resume', id]);
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(
      `rollout resume: rollout "${id}" already ended (completed); there is nothing to resume\n`,
    );
    const lateSet = await rollout(['set', id, '--rate', '1']);
    expect(lateSet.code).toBe(1);
    expect(lateSet.stderr).toBe(
      `rollout set: rollout "${id}" already ended (completed); there is nothing to change\n`,
    );
  });

  it('resumes a breaker pause (--on-breaker pause), saying the breaker counts afresh', async () => {
    const sim = await env.simulator(60, (_id, i) =>
      i < 8 ? { failure: { mode: 'status', status: 500 } } : {},
    );
    const id = await start(
      sim,
      'breaker',
      '--on-breaker',
      'pause',
      '--max-attempts',
      '1',
      '--min-samples',
      '10',
      '--max-in-flight',
      '5',
      '--batch-size',
      '20',
    );
    await waitForProgress(id, (p) => p.status === 'paused', 'the breaker pause');

    const status = await rollout(['status', id]);
    expect(status.stdout).toContain('· breaker tripped: failure ratio');
    expect(status.stdout).not.toContain('breaker tripped: breaker tripped');
    const resumed = await rollout(['resume', id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(
      /resumed: .*; the breaker counts afresh, accepting the \d+ failures? so far\n$/,
    );
    expect(await follow(id)).toMatchObject({ status: 'completed', failed: 8, succeeded: 52 });
  });
});

describe('rollout approve and promote', () => {
  it('waits for approval after the canary wave; promote is refused, approve starts the next wave', async () => {
    const sim = await env.simulator(40, () => ({ latencyMs: 100 }));
    const id = await start(sim, 'approve', '--waves', '10%,100%', '--approve-waves', '--max-in-flight', '4');
    await waitForProgress(id, isWaiting('approval'), 'the approval gate');
    expect(sim.stats().devicesApplied).toBe(4);

    const status = await rollout(['status', id]);
    expect(status.stdout).toContain(
      `waiting for approval to start wave 2 of 2 after wave 1 (\`rollout approve ${id}\`)`,
    );
    expect(status.stdout.split('\n')[0]).toContain('· wave 1/2');
    const promote = await rollout(['promote', id]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toBe(
      `rollout promote: rollout "${id}" is not baking (it is waiting for approval to start wave 2 of 2 after wave 1 (\`rollout approve ${id}\`))\n`,
    );

    const approved = await rollout(['approve', id]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(`^rollout ${id} approved: (wave 2 of 2 is running|it ended completed)\\n$`),
    );
    const report = await follow(id);
    expect(report).toMatchObject({ status: 'completed', succeeded: 40 });
    expect(report.waves?.list.map((w) => w.devices)).toEqual([4, 36]);
    // Batches follow the waves (4 devices, then 36): `results` names every device once.
    const results = await rollout(['results', id]);
    expect(results.code, results.stderr).toBe(0);
    const lines = results.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { deviceId: string; outcome: string; batch: number });
    expect(new Set(lines.map((l) => l.deviceId))).toEqual(new Set(sim.ids));
    expect(lines.filter((l) => l.batch === 0)).toHaveLength(4);
    expect(lines.every((l) => l.outcome === 'succeeded')).toBe(true);
  });

  it('skips the rest of a bake on promote', async () => {
    const sim = await env.simulator(40, () => ({ latencyMs: 100 }));
    const id = await start(sim, 'promote', '--waves', '10%,100%', '--bake', '1h', '--max-in-flight', '4');
    await waitForProgress(id, isWaiting('bake'), 'the bake');

    const promoted = await rollout(['promote', id]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toMatch(
      new RegExp(
        `^rollout ${id} promoted: bake of wave 1 skipped; (wave 2 of 2 is running|it ended completed)\\n$`,
      ),
    );
    expect(await follow(id)).toMatchObject({ status: 'completed', succeeded: 40 });
  });
});
