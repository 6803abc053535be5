/**
 * Horizontal scale: two worker processes on one task queue share one rollout's pushes. The
 * workers are real `worker/main.ts` processes; which worker ran each push is read from the
 * batches' histories (the identity on ActivityTaskStarted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../shared/paths.js';
import { batchWorkflowId } from '../../workflows/definitions.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout } from '../helpers/temporal-env.js';

let env: TestEnv;
const workers: ChildProcess[] = [];

function startWorkerProcess(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...env.processEnv(), WORKFLOW_BUNDLE: inject('workflowBundlePath') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (output.includes('worker ready')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${output}`)));
  });
}

beforeAll(async () => {
  env = await createTestEnv('two-workers');
  await Promise.all([startWorkerProcess(), startWorkerProcess()]);
});

afterAll(async () => {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null) return resolve();
          w.removeAllListeners('exit');
          w.once('exit', () => resolve());
          w.kill('SIGTERM');
        }),
    ),
  );
  await env?.close();
});

describe('two worker processes', () => {
  it('share the pushes of one rollout, every device pushed once', async () => {
    const sim = await env.simulator(200, () => ({ latencyMs: [20, 60] }));
    const { input } = await prepareRollout(env, sim, { settings: { batchSize: 100, maxInFlight: 40 } });
    const handle = await startRollout(env, input);
    const ending = await outcomeOf(handle);

    expect(ending.report).toMatchObject({ status: 'completed', succeeded: 200 });
    expect(sim.stats()).toMatchObject({ devicesApplied: 200, duplicates: 0 });
    const pushesBy = new Map<string, number>();
    for (const batch of [0, 1]) {
      const history = await env.client.workflow
        .getHandle(batchWorkflowId(handle.workflowId, batch))
        .fetchHistory();
      for (const event of history.events ?? []) {
        const identity = event.activityTaskStartedEventAttributes?.identity;
        if (identity) pushesBy.set(identity, (pushesBy.get(identity) ?? 0) + 1);
      }
    }
    const workerPids = workers.map((w) => String(w.pid));
    const identities = [...pushesBy.keys()];
    expect(identities).toHaveLength(2);
    for (const pid of workerPids) expect(identities.some((id) => id.startsWith(`${pid}@`))).toBe(true);
    for (const count of pushesBy.values()) expect(count).toBeGreaterThan(10);
  });
});
