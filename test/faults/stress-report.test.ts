/**
 * Every scenario of the stress report (`../shared/seeds/000_83e3fff495c3e1d1.txt`), each a
 * rollout on the real dev server against the device simulator, judged device by device: what
 * the simulator saw (attempts, bodies and their digests, duplicates by idempotency key) against
 * each device's outcome as `rollout results` lists it. Durations are scaled down where the
 * platform allows (a 300 ms attempt timeout); timing checks are ratios and lower bounds, with
 * upper bounds only where they are loose enough for a loaded 2-core machine.
 *
 * The retry storm keeps the stress report's 1 s initial interval (1 + 2 + 4 + 8 + 16 s of
 * backoff): timers fire within ~100 ms of their time on our dev server
 * (`history.timerProcessorMaxTimeShift`, scripts/lib/dev-server.ts), which would blur the 2×
 * ratios of a scaled-down 100 ms storm. It runs in the background from the start of the file;
 * its test comes last.
 *
 * Sizes: the load scenario pushes 10,000 devices in fast mode by default (about 10 s here).
 * `FAULTS_FULL=1` runs the stress report's sizes — 1,000, 10,000 and 100,000 devices:
 *
 *     FAULTS_FULL=1 npx vitest run test/faults/stress-report.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.js';
import { failureFor } from '../../simulator/behavior.js';
import type { DeviceBehavior } from '../../simulator/index.js';
import { DeviceSimulator } from '../../simulator/index.js';
import type {
  DeviceOutcome,
  RolloutInput,
  RolloutReport,
  RolloutSettings,
} from '../../workflows/definitions.js';
import { batchWorkflowId } from '../../workflows/definitions.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout, waitFor } from '../helpers/temporal-env.js';
import {
  deviceOutcomes,
  inputFor,
  scratchDir,
  startWorkerWith,
  writeArtifact,
  writeFleet,
} from './fault-fixtures.js';

const FULL = process.env['FAULTS_FULL'] === '1';
const LOAD_SIZES = FULL ? [1_000, 10_000, 100_000] : [10_000];
const MODES = ['per-device', 'fast'] as const;
const MB = 1024 * 1024;
const STORM_INITIAL_MS = 1000; // 1 s

/** Idle pushing connections close after this, so the leak check need not wait 10 s. */
const KEEP_ALIVE_MS = 1000; // 1 s
/**
 * Retry delays as short as the dev server allows (~1 s, see above), no longer growing. The
 * attempt timeout stays at its default outside its own scenario: 300 ms is too short for 100
 * pushes starting at once in this one process (worker and devices), and a device that answered
 * 200 would be retried.
 */
const QUICK: Partial<RolloutSettings> = { initialIntervalMs: 200, maxIntervalMs: 200 };
/** The breaker off (a threshold of 1 cannot trip): in these scenarios failing devices are the point. */
const NO_BREAKER: Partial<RolloutSettings> = { failureThreshold: 1 };

let env: TestEnv;
let stopWorker: (() => Promise<void>) | undefined;
/** The retry storm, started first and checked last (it spends 31 s in backoff). */
let storm: { sim: DeviceSimulator; running: Promise<Finished> };

beforeAll(async () => {
  env = await createTestEnv('faults');
  stopWorker = await startWorkerWith(env, { keepAliveMs: KEEP_ALIVE_MS });
  const sim = await env.simulator(1, () => ({ failure: { mode: 'status', status: 503, firstAttempts: 5 } }));
  const running = rollout(sim, { maxAttempts: 10, initialIntervalMs: STORM_INITIAL_MS, minSamples: 1 });
  running.catch(() => undefined); // awaited by its test; do not let it reject unobserved
  storm = { sim, running };
});

afterAll(async () => {
  await stopWorker?.();
  await env?.close();
});

interface Finished {
  report: RolloutReport;
  outcomes: Map<string, DeviceOutcome>;
}

/** Runs `input` to the end, expects it completed, and reads every device's outcome. */
async function finish(input: RolloutInput): Promise<Finished> {
  const ending = await outcomeOf(await startRollout(env, input));
  expect(ending.status, String(ending.error)).toBe('completed');
  const report = ending.report!;
  return { report, outcomes: await deviceOutcomes(env, report) };
}

/** A rollout of the simulator's fleet with `settings` (and a small artifact unless given). */
async function rollout(
  sim: DeviceSimulator,
  settings: Partial<RolloutSettings>,
  artifact?: Buffer,
): Promise<Finished> {
  const { input } = await prepareRollout(env, sim, { settings, ...(artifact ? { artifact } : {}) });
  return await finish(input);
}

/**
 * Where a device's outcome and the simulator disagree: the attempt count differs, or a
 * succeeded device was not applied exactly once, or a failed one was applied at all.
 */
function disagreements(sim: DeviceSimulator, outcomes: Map<string, DeviceOutcome>): string[] {
  const found: string[] = [];
  for (const id of sim.ids) {
    const outcome = outcomes.get(id);
    const seen = sim.attemptsFor(id);
    const applied = seen.filter((a) => a.outcome === 'applied').length;
    if (outcome === undefined) found.push(`${id}: no outcome`);
    else if (outcome.attempts !== seen.length)
      found.push(`${id}: ${outcome.attempts} attempts reported, ${seen.length} seen`);
    else if (applied !== (outcome.outcome === 'succeeded' ? 1 : 0))
      found.push(`${id}: ${outcome.outcome} but applied ${applied} times`);
  }
  return found;
}

/** Every device accounted for, in agreement with the simulator, none applied twice. */
function expectLedger(sim: DeviceSimulator, { report, outcomes }: Finished): void {
  expect(outcomes.size).toBe(sim.ids.length);
  expect(disagreements(sim, outcomes)).toEqual([]);
  expect(report.succeeded + report.failed).toBe(report.total);
  expect(sim.stats().devicesApplied).toBe(report.succeeded);
  expect(sim.stats().duplicates).toBe(0);
}

/** Milliseconds between the end of each attempt of `id` and the start of the next one. */
function backoffs(sim: DeviceSimulator, id: string): number[] {
  const attempts = sim.attemptsFor(id);
  return attempts.slice(1).map((a, i) => a.startedAt - attempts[i]!.endedAt);
}

describe('attempt timeout honoured', () => {
  it('cuts a hanging device off at the attempt timeout on every attempt, then fails it AttemptTimeout', async () => {
    const timeoutMs = 300;
    const sim = await env.simulator(6, (_id, i): DeviceBehavior => {
      if (i === 0) return { failure: { mode: 'hang' } };
      if (i === 1) return { failure: { mode: 'hang', firstAttempts: 1 } };
      return {};
    });
    const run = await rollout(sim, { ...QUICK, ...NO_BREAKER, attemptTimeoutMs: timeoutMs, maxAttempts: 3 });

    expect(run.report).toMatchObject({
      total: 6,
      succeeded: 5,
      failed: 1,
      failuresByType: { AttemptTimeout: 1 },
    });
    const [hung, once] = [sim.ids[0]!, sim.ids[1]!];
    expect(run.outcomes.get(hung)).toMatchObject({
      outcome: 'failed',
      attempts: 3,
      errorType: 'AttemptTimeout',
      message: expect.stringContaining(`attempt timed out after ${timeoutMs} ms`) as unknown,
    });
    expect(run.outcomes.get(once)).toMatchObject({ outcome: 'succeeded', attempts: 2 });
    for (const attempt of [...sim.attemptsFor(hung), sim.attemptsFor(once)[0]!]) {
      // The engine hung up; the device never answered. The device sees the request only once
      // it is connected and its headers parsed, after the engine's clock started: so a little
      // less than the timeout (about 20 ms less at most, measured here).
      expect(attempt).toMatchObject({ aborted: true, status: null });
      const ms = attempt.endedAt - attempt.startedAt;
      expect(ms).toBeGreaterThanOrEqual(timeoutMs * 0.8);
      expect(ms).toBeLessThan(timeoutMs + 1500);
    }
    expectLedger(sim, run);
  });
});

const PERMANENT = [400, 401, 403, 404];
const RETRYABLE = [500, 502, 503, 504];

describe.each(MODES)('HTTP 400, 401, 403, 404, 500, 502, 503, 504 (%s mode)', (mode) => {
  const maxAttempts = 4;
  let sim: DeviceSimulator;
  let run: Finished;
  /** Devices 0–7 always answer their code; 8 and 9 answer 503 / 502 twice, then accept; 10–11 are fine. */
  const codes = [...PERMANENT, ...RETRYABLE];
  const recovering = [503, 502];

  beforeAll(async () => {
    sim = await env.simulator(12, (_id, i): DeviceBehavior => {
      if (i < codes.length) return { failure: { mode: 'status', status: codes[i]! } };
      const status = recovering[i - codes.length];
      return status === undefined ? {} : { failure: { mode: 'status', status, firstAttempts: 2 } };
    });
    run = await rollout(sim, { ...QUICK, ...NO_BREAKER, mode, maxAttempts });
  });

  it('accounts for every device', () => {
    expect(run.report).toMatchObject({
      total: 12,
      succeeded: 4,
      failed: 8,
      failuresByType: { HttpClientError: 4, HttpServerError: 4 },
    });
    expectLedger(sim, run);
  });

  it.for(PERMANENT)('fails a device answering %i permanently, after exactly one attempt', (code) => {
    const id = sim.ids[codes.indexOf(code)]!;
    expect(sim.attemptsFor(id).map((a) => a.status)).toEqual([code]);
    expect(run.outcomes.get(id)).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      status: code,
      errorType: 'HttpClientError',
    });
  });

  it.for(RETRYABLE)('retries a device answering %i up to max attempts, then fails it', (code) => {
    const id = sim.ids[codes.indexOf(code)]!;
    expect(sim.attemptsFor(id).map((a) => a.status)).toEqual(Array(maxAttempts).fill(code));
    expect(run.outcomes.get(id)).toMatchObject({
      outcome: 'failed',
      attempts: maxAttempts,
      status: code,
      errorType: 'HttpServerError',
    });
  });

  it.for(recovering)('succeeds a device that answers %i twice, then accepts', (code) => {
    const id = sim.ids[codes.length + recovering.indexOf(code)]!;
    expect(sim.attemptsFor(id).map((a) => a.status)).toEqual([code, code, 200]);
    expect(run.outcomes.get(id)).toMatchObject({ outcome: 'succeeded', attempts: 3, status: 200 });
  });
});

describe('connection refused', () => {
  it('fails a device on a closed port fast, after max attempts, ConnectionRefused', async () => {
    const port = await freePort(); // bound and released: nothing listens there
    const sim = await env.simulator(4);
    const dir = scratchDir(env, 'refused');
    const closed = ['refused-1', 'refused-2'];
    writeFleet(`${dir}/fleet.ndjson`, [
      ...sim.ids.map((id) => ({ id, url: sim.deviceUrl(id) })),
      ...closed.map((id) => ({ id, url: `http://127.0.0.1:${port}/devices/${id}/update` })),
    ]);
    writeArtifact(`${dir}/artifact.bin`, 4096);
    // A long attempt timeout: a refused connection must fail at once, not when the timeout ends.
    const attemptTimeoutMs = 10_000;
    const input = await inputFor(`${dir}/fleet.ndjson`, `${dir}/artifact.bin`, {
      ...QUICK,
      ...NO_BREAKER,
      attemptTimeoutMs,
      maxAttempts: 3,
    });
    const run = await finish(input);

    expect(run.report).toMatchObject({
      total: 6,
      succeeded: 4,
      failed: 2,
      failuresByType: { ConnectionRefused: 2 },
    });
    for (const id of closed) {
      expect(run.outcomes.get(id)).toMatchObject({
        outcome: 'failed',
        attempts: 3,
        errorType: 'ConnectionRefused',
        message: expect.stringContaining('connection refused') as unknown,
      });
    }
    // Three attempts each took less than one attempt timeout all together.
    expect(run.report.durationMs).toBeLessThan(attemptTimeoutMs);
    expect(sim.stats()).toMatchObject({ attempts: 4, devicesApplied: 4, duplicates: 0 });
  });

  it('retries a refused device until it comes up, then pushes it once', async () => {
    const port = await freePort();
    const dir = scratchDir(env, 'late');
    writeFleet(`${dir}/fleet.ndjson`, [{ id: 'late', url: `http://127.0.0.1:${port}/devices/late/update` }]);
    writeArtifact(`${dir}/artifact.bin`, 4096);
    const input = await inputFor(`${dir}/fleet.ndjson`, `${dir}/artifact.bin`, {
      ...NO_BREAKER,
      maxAttempts: 50,
      initialIntervalMs: 100,
      backoffCoefficient: 1,
      maxIntervalMs: 100,
    });
    const handle = await startRollout(env, input);
    const refusals = async (): Promise<number> => {
      try {
        const batch = await env.client.workflow.getHandle(batchWorkflowId(handle.workflowId, 0)).describe();
        const pending = batch.raw.pendingActivities?.[0];
        return pending?.lastFailure?.message?.includes('connection refused') ? (pending.attempt ?? 0) - 1 : 0;
      } catch {
        return 0; // the batch has not started yet
      }
    };
    await waitFor(async () => (await refusals()) >= 2, 30_000, 'two refused attempts');

    const sim = await DeviceSimulator.start({ devices: ['late'], port });
    try {
      const ending = await outcomeOf(handle);
      expect(ending.report).toMatchObject({ succeeded: 1, failed: 0 });
      const outcome = (await deviceOutcomes(env, ending.report!)).get('late');
      expect(outcome).toMatchObject({ outcome: 'succeeded' });
      expect(outcome?.attempts).toBeGreaterThanOrEqual(3);
      expect(sim.attemptsFor('late').map((a) => a.outcome)).toEqual(['applied']);
    } finally {
      await sim.close();
    }
  });
});

describe('malformed response', () => {
  it('retries a device that answers something other than HTTP and never counts it as a success', async () => {
    const sim = await env.simulator(5, (_id, i): DeviceBehavior => {
      if (i === 0) return { failure: { mode: 'malformed' } };
      if (i === 1) return { failure: { mode: 'malformed', firstAttempts: 2 } };
      return {};
    });
    const run = await rollout(sim, { ...QUICK, ...NO_BREAKER, maxAttempts: 3 });

    expect(run.report).toMatchObject({
      total: 5,
      succeeded: 4,
      failed: 1,
      failuresByType: { MalformedResponse: 1 },
    });
    const [bad, flaky] = [sim.ids[0]!, sim.ids[1]!];
    expect(run.outcomes.get(bad)).toMatchObject({
      outcome: 'failed',
      attempts: 3,
      errorType: 'MalformedResponse',
    });
    expect(sim.attemptsFor(bad).map((a) => [a.outcome, a.status])).toEqual(Array(3).fill(['failed', null]));
    expect(run.outcomes.get(flaky)).toMatchObject({ outcome: 'succeeded', attempts: 3 });
    expect(sim.attemptsFor(flaky).map((a) => a.outcome)).toEqual(['failed', 'failed', 'applied']);
    expectLedger(sim, run);
  });
});

/** Active handles and requests of this process, by kind (`TCPSocketWrap`, `Timeout`, …). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

const sockets = (): number => resources().get('TCPSocketWrap') ?? 0;

describe('no handle or socket leak after 1,000 pushes', () => {
  it('returns to its handles and sockets before the rollout once keep-alive connections idle out', async () => {
    const maxInFlight = 100;
    const sim = await env.simulator(1000);
    // Pooled connections of earlier tests idle out first.
    await new Promise((resolve) => setTimeout(resolve, KEEP_ALIVE_MS + 500));
    const before = resources();
    const socketsBefore = sockets();
    const run = await rollout(sim, { maxInFlight });

    expect(run.report).toMatchObject({ total: 1000, succeeded: 1000, failed: 0 });
    expectLedger(sim, run);
    const stats = sim.stats();
    expect(stats.attempts).toBe(1000);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(maxInFlight);
    // Connections are pooled and reused, never more open than pushes in flight can use.
    expect(stats.maxOpenConnections).toBeLessThanOrEqual(maxInFlight);
    expect(stats.connections).toBeLessThan(1000 / 2);
    // Right after: at most the keep-alive pool, each connection two sockets here (engine and device).
    expect(sockets() - socketsBefore).toBeLessThanOrEqual(2 * stats.openConnections);
    expect(stats.openConnections).toBeLessThanOrEqual(maxInFlight);

    await waitFor(() => sim.stats().openConnections === 0, 15_000, 'idle connections to close');
    await waitFor(() => sockets() <= socketsBefore, 5_000, 'sockets back to their count before');
    const after = resources();
    const total = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
    // A few timers come and go with the worker's polling; nothing grows with the pushes.
    expect(total(after) - total(before), JSON.stringify([...after])).toBeLessThanOrEqual(5);
  });
});

/** Samples this process's RSS every 20 ms until stopped; resolves to the peak growth in bytes. */
function watchRss(): () => number {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) - baseline;
  };
}

describe('payloads', () => {
  it('pushes a 0-byte artifact, every device receiving an empty body that matches its digest', async () => {
    const sim = await env.simulator(3);
    const run = await rollout(sim, {}, Buffer.alloc(0));

    expect(run.report).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    expect(sim.attempts.map((a) => [a.outcome, a.bytes, a.digestOk, a.lengthOk])).toEqual(
      Array(3).fill(['applied', 0, true, true]),
    );
    expectLedger(sim, run);
  });

  it('pushes 10 MB to 100 devices at once, streamed: every body verified, RSS far below 1 GB', async () => {
    const devices = 100;
    const size = 10 * MB;
    // Devices take a second to answer, so the 100 uploads overlap.
    const sim = await env.simulator(devices, () => ({ latencyMs: 1000 }));
    const dir = scratchDir(env, 'ten-mb');
    await sim.writeFleet(`${dir}/fleet.ndjson`);
    writeArtifact(`${dir}/artifact.bin`, size);
    const input = await inputFor(`${dir}/fleet.ndjson`, `${dir}/artifact.bin`, {
      ...NO_BREAKER, // full concurrency from the first push
      maxInFlight: devices,
      attemptTimeoutMs: 120_000,
    });
    const rss = watchRss();
    const run = await finish(input);
    const growth = rss();

    expect(run.report).toMatchObject({ total: devices, succeeded: devices, failed: 0 });
    expect(
      sim.attempts.filter((a) => a.outcome === 'applied' && a.bytes === size && a.digestOk && a.lengthOk),
    ).toHaveLength(devices);
    expectLedger(sim, run);
    const stats = sim.stats();
    expect(stats.bytesReceived).toBe(devices * size);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(devices);
    expect(stats.maxConcurrent).toBeGreaterThanOrEqual(devices / 2);
    // 1 GB went through this process (engine and devices both); it held a small part at once.
    expect(growth).toBeLessThan(400 * MB);
  });

  it('pushes a 100 MB artifact to one device, digest and length verified', async () => {
    const size = 100 * MB;
    const sim = await env.simulator(1);
    const dir = scratchDir(env, 'hundred-mb');
    await sim.writeFleet(`${dir}/fleet.ndjson`);
    writeArtifact(`${dir}/artifact.bin`, size);
    const input = await inputFor(`${dir}/fleet.ndjson`, `${dir}/artifact.bin`, {
      minSamples: 1,
      attemptTimeoutMs: 120_000,
    });
    const rss = watchRss();
    const run = await finish(input);
    const growth = rss();

    expect(run.report).toMatchObject({ total: 1, succeeded: 1 });
    expect(sim.attempts).toEqual([
      expect.objectContaining({ outcome: 'applied', bytes: size, digestOk: true, lengthOk: true }),
    ]);
    expectLedger(sim, run);
    // Streamed in chunks: the process never held the artifact whole.
    expect(growth).toBeLessThan(size);
  });
});

/**
 * Each device's fate under `behavior` with the simulator's seeded draws: the attempt that
 * succeeds, or undefined when all `maxAttempts` fail.
 */
function fates(
  behavior: DeviceBehavior,
  seed: number,
  devices: number,
  maxAttempts: number,
): (number | undefined)[] {
  const attempts = Array.from({ length: maxAttempts }, (_, a) => a + 1);
  return Array.from({ length: devices }, (_, i) =>
    attempts.find((attempt) => failureFor(behavior, seed, i, attempt) === undefined),
  );
}

describe('30 % random failures', () => {
  const devices = 300;
  const maxAttempts = 5;
  const behavior: DeviceBehavior = { failure: { mode: 'status', status: 503, probability: 0.3 } };
  // 0.3^5 × 300 ≈ 0.7 devices fail all their attempts: take the first seed where some do, so
  // that both endings occur. The draws are seeded, so every device's fate is known in advance.
  const seed = Array.from({ length: 100 }, (_, s) => s).find(
    (s) => fates(behavior, s, devices, maxAttempts).filter((a) => a === undefined).length >= 2,
  )!;
  const expected = fates(behavior, seed, devices, maxAttempts);
  const failing = expected.filter((a) => a === undefined).length;

  for (const mode of MODES) {
    it(`ends every device succeeded or failed after its attempts, as the simulator saw them (${mode} mode)`, async () => {
      const sim = await DeviceSimulator.start({ devices, seed, behavior: () => behavior });
      try {
        // The breaker off: retrying pushes hold failure permits, so its slow start would stretch
        // this rollout several times over; what the breaker does with failures is tested elsewhere.
        const run = await rollout(sim, { ...QUICK, ...NO_BREAKER, mode, maxAttempts });

        expect(run.report).toMatchObject({ total: devices, succeeded: devices - failing, failed: failing });
        sim.ids.forEach((id, i) => {
          const attempts = expected[i];
          expect(run.outcomes.get(id), id).toMatchObject(
            attempts === undefined
              ? { outcome: 'failed', attempts: maxAttempts, errorType: 'HttpServerError' }
              : { outcome: 'succeeded', attempts },
          );
        });
        // About 30 % of first attempts failed, so retries did real work here.
        expect(expected.filter((a) => a !== 1).length).toBeGreaterThan(devices * 0.2);
        expect(run.report.failures).toHaveLength(failing);
        for (const sample of run.report.failures) {
          expect(sim.attemptsFor(sample.deviceId)).toHaveLength(sample.attempts!);
        }
        expectLedger(sim, run);
      } finally {
        await sim.close();
      }
    });
  }
});

describe('100–500 ms latency across the fleet', () => {
  it('pushes 200 slow devices within 50 in flight, every one once', async () => {
    const maxInFlight = 50;
    const sim = await env.simulator(200, () => ({ latencyMs: [100, 500] }));
    // The breaker off so that concurrency is not ramped up slowly: the in-flight cap is the limit.
    const run = await rollout(sim, { ...NO_BREAKER, maxInFlight });

    expect(run.report).toMatchObject({ total: 200, succeeded: 200, failed: 0 });
    expectLedger(sim, run);
    const stats = sim.stats();
    expect(stats.attempts).toBe(200);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(maxInFlight);
    expect(stats.maxConcurrent).toBeGreaterThan(maxInFlight / 2);
  });
});

describe(`load ${LOAD_SIZES.map((n) => `${n / 1000}K`).join('/')}`, () => {
  it.for(LOAD_SIZES)(
    'pushes %i devices in fast mode, every device applied exactly once',
    { timeout: FULL ? 600_000 : 120_000 },
    async (devices) => {
      const sim = await env.simulator(devices);
      const run = await rollout(sim, { mode: 'fast' });

      expect(run.report).toMatchObject({ total: devices, succeeded: devices, failed: 0, notAttempted: 0 });
      expectLedger(sim, run);
      expect(sim.stats()).toMatchObject({ attempts: devices, applied: devices, failed: 0 });
      expect(sim.stats().maxConcurrent).toBeLessThanOrEqual(100);
    },
  );
});

describe('retry storm', () => {
  it('succeeds a device failing its first 5 attempts with max attempts 10, each backoff about twice the last', async () => {
    const { sim } = storm;
    const run = await storm.running;

    const id = sim.ids[0]!;
    expect(run.outcomes.get(id)).toMatchObject({ outcome: 'succeeded', attempts: 6 });
    expect(sim.attemptsFor(id).map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 200]);
    expectLedger(sim, run);
    // ~1, 2, 4, 8, 16 × the initial interval: never shorter than the policy's delay (the
    // device's answer leaves after it is recorded), each about twice the one before.
    const gaps = backoffs(sim, id);
    expect(gaps).toHaveLength(5);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(STORM_INITIAL_MS * 2 ** i));
    for (const [i, gap] of gaps.slice(1).entries()) {
      const ratio = gap / gaps[i]!;
      expect(ratio).toBeGreaterThan(1.5);
      expect(ratio).toBeLessThan(3);
    }
  });
});
