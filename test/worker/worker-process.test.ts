/**
 * `npm run worker` as a process: configuration errors name their variable; SIGTERM shuts it
 * down cleanly.
 */
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../shared/paths.js';
import { ConfigError } from '../../shared/env.js';
import { loadWorkerConfig } from '../../worker/config.js';

function startWorker(env: NodeJS.ProcessEnv): {
  exited: Promise<number | null>;
  output: () => string;
  kill: (s: NodeJS.Signals) => void;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return {
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    output: () => output,
    kill: (signal) => child.kill(signal),
  };
}

describe('worker configuration', () => {
  it.each([
    ['TEMPORAL_ADDRESS', 'not an address', 'must be host:port'],
    ['WORKER_MAX_ACTIVITIES', 'lots', 'must be a whole number from 1 to 10000'],
    ['PUSH_CONNECTIONS_PER_HOST', '0', 'must be a whole number from 1 to 10000'],
    ['TEMPORAL_TLS_CA', '/no/such/ca.pem', 'cannot read the file'],
  ])('rejects %s=%j with a message naming the variable', (name, value, message) => {
    expect(() => loadWorkerConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadWorkerConfig({ [name]: value })).toThrow(new RegExp(`${name}.*${message}`));
  });

  it('reports every bad variable at once', () => {
    const err = (() => {
      try {
        loadWorkerConfig({ WORKER_MAX_ACTIVITIES: 'x', PUSH_KEEPALIVE_MS: '-1' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems).toHaveLength(2);
  });

  it('uses the documented defaults', () => {
    expect(loadWorkerConfig({})).toMatchObject({
      temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'rollouts' },
      maxActivities: 200,
    });
  });
});

describe('worker process', () => {
  it('exits 1 naming the variable when the configuration is bad', async () => {
    const worker = startWorker({ WORKER_MAX_ACTIVITIES: 'many' });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('WORKER_MAX_ACTIVITIES');
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const worker = startWorker({
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `sigterm-${process.pid}`,
    });
    const deadline = Date.now() + 60_000;
    while (!worker.output().includes('worker ready') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(worker.output()).toContain('worker ready');
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
