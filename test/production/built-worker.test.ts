/**
 * The production path, as the image runs it: `npm run build`, then the compiled worker
 * (`node dist/worker/main.js`, prebuilt workflow bundle, no tsx) with Prometheus metrics and
 * JSON logs, driven by the compiled CLI against the real dev server and the simulated fleet.
 * The metrics are scraped while the rollout runs and checked against the simulator's counts.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.js';
import { REPO_ROOT } from '../../shared/paths.js';
import type { RolloutReport } from '../../workflows/definitions.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { CliRun } from '../helpers/cli.js';
import { lastJson, runProcess } from '../helpers/cli.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, prepareRollout, waitFor } from '../helpers/temporal-env.js';

const execFileAsync = promisify(execFile);
const BUILD_TIMEOUT_MS = 180_000; // tsc + bundling on a loaded 2-core machine

let env: TestEnv;
let worker: ChildProcess | undefined;
let workerOutput = '';
let metricsPort = 0;

/** Prometheus text → samples keyed by `name{labels}` (labels as printed). */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.ok).toBe(true);
  return parseMetrics(await res.text());
}

/** Sum of the samples of `name` whose labels include every `label="value"` given. */
function total(samples: Map<string, number>, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const [metric, rest = ''] = key.split('{');
    if (metric === name && labels.every((l) => rest.includes(l))) sum += value;
  }
  return sum;
}

beforeAll(async () => {
  env = await createTestEnv('built');
  await execFileAsync('npm', ['run', 'build'], { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS });
  metricsPort = await freePort();
  worker = spawn(process.execPath, ['dist/worker/main.js'], {
    cwd: REPO_ROOT,
    env: {
      ...env.processEnv(),
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout?.on('data', (d: Buffer) => (workerOutput += d.toString()));
  worker.stderr?.on('data', (d: Buffer) => (workerOutput += d.toString()));
  await waitFor(
    () => workerOutput.includes('worker ready') || worker?.exitCode !== null,
    60_000,
    'worker ready',
  );
  if (!workerOutput.includes('worker ready')) throw new Error(`built worker did not start:\n${workerOutput}`);
}, BUILD_TIMEOUT_MS + 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const gone = new Promise((resolve) => worker?.once('exit', resolve));
    worker.kill('SIGTERM');
    await gone;
  }
  await env?.close();
});

/** The compiled CLI, as `docker compose run cli` runs it. */
function cli(args: string[]): Promise<CliRun> {
  return runProcess(process.execPath, ['dist/client/main.js', ...args], env.processEnv());
}

describe('the built worker', () => {
  it('is compiled JavaScript with a prebuilt workflow bundle', () => {
    expect(existsSync(join(REPO_ROOT, 'dist', 'worker', 'main.js'))).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'dist', 'workflow-bundle.js'))).toBe(true);
    // JSON logs from the first line on.
    const ready = workerOutput.split('\n').find((l) => l.includes('worker ready'))!;
    expect(JSON.parse(ready)).toMatchObject({ level: 'INFO', taskQueue: env.taskQueue, metricsPort });
  });

  let sim: DeviceSimulator;
  let report: RolloutReport;
  let peakInFlight = 0;

  it('runs a rollout started by the compiled CLI, exposing metrics while it runs', async () => {
    // 30 devices: 0–2 answer 404 (permanent), 3–6 answer 503 once, the rest succeed.
    sim = await env.simulator(30, (_id, i) =>
      i < 3
        ? { failure: { mode: 'status', status: 404 } }
        : i < 7
          ? { failure: { mode: 'status', status: 503, firstAttempts: 1 }, latencyMs: 100 }
          : { latencyMs: [100, 300] },
    );
    const { fleetPath, artifactPath } = await prepareRollout(env, sim);
    const running = cli([
      'start',
      '--fleet',
      fleetPath,
      '--artifact',
      artifactPath,
      '--max-in-flight',
      '4',
      '--initial-interval',
      '200ms',
      '--failure-threshold',
      '0.5',
      '--wait',
      '--json',
    ]);
    let finished = false;
    void running.finally(() => (finished = true));
    while (!finished) {
      const samples = await scrape();
      peakInFlight = Math.max(peakInFlight, total(samples, 'rollout_pushes_in_flight'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    report = lastJson<RolloutReport>(run.stdout);
    expect(report).toMatchObject({ status: 'completed', succeeded: 27, failed: 3 });
    expect(peakInFlight).toBeGreaterThan(0);
    expect(peakInFlight).toBeLessThanOrEqual(4);
  });

  it('counts pushes by outcome, bytes and latency exactly as the simulator saw them', async () => {
    const samples = await scrape();
    const attempts = sim.attempts;
    const byStatus = (status: number): number => attempts.filter((a) => a.status === status).length;
    expect(total(samples, 'rollout_push_attempts_total', 'outcome="succeeded"')).toBe(byStatus(200));
    expect(total(samples, 'rollout_push_attempts_total', 'outcome="HttpClientError"')).toBe(byStatus(404));
    expect(total(samples, 'rollout_push_attempts_total', 'outcome="HttpServerError"')).toBe(byStatus(503));
    expect(total(samples, 'rollout_push_attempts_total')).toBe(attempts.length);
    expect(total(samples, 'rollout_push_bytes_total')).toBe(
      attempts.filter((a) => a.status === 200).reduce((sum, a) => sum + a.bytes, 0),
    );
    expect(total(samples, 'rollout_push_duration_seconds_count')).toBe(attempts.length);
    expect(total(samples, 'rollout_pushes_in_flight')).toBe(0);
    // The Temporal runtime's own metrics share the endpoint.
    expect([...samples.keys()].some((k) => k.startsWith('temporal_activity_execution_latency'))).toBe(true);
  });

  it('counts a breaker trip', async () => {
    const broken = await env.simulator(20, () => ({ failure: { mode: 'status', status: 500 } }));
    const { fleetPath, artifactPath } = await prepareRollout(env, broken);
    const before = total(await scrape(), 'rollout_breaker_trips_total', 'action="halt"');
    const run = await cli([
      'start',
      '--fleet',
      fleetPath,
      '--artifact',
      artifactPath,
      '--max-attempts',
      '1',
      '--min-samples',
      '5',
      '--wait',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(2);
    await waitFor(
      async () => total(await scrape(), 'rollout_breaker_trips_total', 'action="halt"') === before + 1,
      10_000,
      'the trip on the metrics endpoint',
    );
  });

  it('logs JSON lines naming the rollout and the device of each failed attempt', () => {
    const lines = workerOutput
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.filter(
      (l) => l.message === 'push attempt failed' && l.rolloutId === report.rolloutId,
    );
    expect(new Set(failed.map((l) => l.deviceId))).toEqual(new Set(sim.ids.slice(0, 7)));
    for (const line of failed) {
      expect(line).toMatchObject({ level: 'WARN', rolloutId: report.rolloutId });
      expect(['HttpClientError', 'HttpServerError']).toContain(line.failureType);
    }
  });
});
