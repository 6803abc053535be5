/**
 * Durability faults (issue 5): a real Temporal dev server, real worker processes and the
 * device simulator as the fleet, hit by the faults a rollout must survive — a worker killed or
 * frozen mid-push, the server killed and restarted on its database, a network partition,
 * partial deliveries, lost answers, a duplicate start and an artifact edited mid-rollout. Each
 * test audits every device (test/helpers/device-audit.ts): the engine's outcome against the
 * deliveries the device recorded, so "exactly once" is checked per idempotency key, not
 * inferred from totals. Fleets are scaled down; a results table is printed at the end.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { SMALL_ARTIFACT_BYTES } from '../../activities/artifact-cache.js';
import { contentDigest, sha256Of } from '../../shared/digest.js';
import type { DeviceSimulator, DeviceStatusReport } from '../../simulator/index.js';
import type { RolloutReport } from '../../workflows/definitions.js';
import { approveSignal, batchWorkflowId, progressQuery } from '../../workflows/definitions.js';
import type { DeviceAudit } from '../helpers/device-audit.js';
import {
  auditDevices,
  byOutcome,
  expectEveryDeviceAccountedFor,
  outcomeCounts,
} from '../helpers/device-audit.js';
import type { CliRun } from '../helpers/cli.js';
import { runRollout } from '../helpers/cli.js';
import type { Ending, TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout, waitFor } from '../helpers/temporal-env.js';
import type { WorkerProcess } from '../helpers/worker-process.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { startTestDevServer } from '../setup/dev-server-env.js';

/** Undone after each test, newest first (workers before the environment they use), even on failure. */
let cleanups: Array<() => Promise<unknown>> = [];
const table: string[] = [];

afterEach(async () => {
  const pending = cleanups.reverse();
  cleanups = [];
  for (const undo of pending) await undo().catch((err: unknown) => console.error('cleanup failed:', err));
});

afterAll(() => {
  console.log(['scenario | devices | outcome counts | duplicates | time', ...table].join('\n'));
});

async function testEnv(name: string): Promise<TestEnv> {
  const env = await createTestEnv(name);
  cleanups.push(() => env.close());
  return env;
}

async function workerProcess(env: TestEnv, extra: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const worker = await startWorkerProcess({
    ...env.processEnv(),
    WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    ...extra,
  });
  cleanups.push(() => worker.kill());
  return worker;
}

/** The report of a rollout that ended as `status`, with its audit checked device by device. */
async function audited(
  client: Client,
  ending: Ending,
  sim: DeviceSimulator,
  status: Ending['status'],
): Promise<{ report: RolloutReport; audits: Map<string, DeviceAudit> }> {
  expect(ending.status, String(ending.error)).toBe(status);
  const report = ending.report!;
  const audits = await auditDevices(client, report, sim);
  expectEveryDeviceAccountedFor(audits, report);
  return { report, audits };
}

function record(
  scenario: string,
  audits: Map<string, DeviceAudit>,
  sim: DeviceSimulator,
  since: number,
  note = '',
): void {
  const counts = Object.entries(outcomeCounts(audits))
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const seconds = ((Date.now() - since) / 1000).toFixed(1);
  const row = `${scenario} | ${audits.size} | ${counts} | ${sim.stats().duplicates} | ${seconds} s`;
  table.push(note === '' ? row : `${row} | ${note}`);
}

/** Audits whose device recorded at least one delivery answered "already applied". */
const duplicated = (audits: Map<string, DeviceAudit>): DeviceAudit[] =>
  [...audits.values()].filter((a) => a.duplicates > 0);

const appliedRecord = (audit: DeviceAudit) => audit.records.find((r) => r.outcome === 'applied')!;

/**
 * How long before a crash a push may have ended and still be re-pushed: per device, its
 * completion was on its way to the server; in fast mode, the group had not yet heartbeated it
 * (every 0.2 s, throttled to 0.2 s). Generous for a loaded machine.
 */
const UNRECORDED_WINDOW_MS = 1000;

describe('a worker killed with SIGKILL mid-rollout', () => {
  it.each(['per-device', 'fast'] as const)(
    'in %s mode, a new worker process finishes it and every device is applied once',
    async (mode) => {
      const since = Date.now();
      const env = await testEnv(`durability-kill-${mode}`);
      const total = 300;
      const maxInFlight = 20;
      const sim = await env.simulator(total, () => ({ latencyMs: [50, 150] }));
      const { input } = await prepareRollout(env, sim, {
        settings: { mode, batchSize: 100, maxInFlight, failureThreshold: 0.5 },
      });
      const first = await workerProcess(env);
      const handle = await startRollout(env, input);
      // Mid-batch (not at a batch boundary), with pushes in flight at the devices.
      await waitFor(
        () => sim.stats().applied >= total / 3 + 10 && sim.stats().inFlight >= maxInFlight / 2,
        60_000,
        'a third of the fleet applied, pushes in flight',
      );
      const killedAt = Date.now();
      await first.kill();
      expect(sim.stats().devicesApplied).toBeLessThan(total);
      // Pushes of the dead worker are retried once their heartbeat timeout (10 s) passes.
      await workerProcess(env);
      const ending = await outcomeOf(handle);

      const { report, audits } = await audited(env.client, ending, sim, 'completed');
      expect(report).toMatchObject({ succeeded: total, failed: 0, aborted: 0, notAttempted: 0 });
      expect(sim.stats()).toMatchObject({ devicesApplied: total, applied: total, rejected: 0 });
      // A duplicate (same key, checked above) is a push the dead worker started and the device
      // applied, but whose success never reached Temporal: delivered again after the kill.
      const again = duplicated(audits);
      for (const audit of again) {
        const first = appliedRecord(audit);
        expect(first.startedAt).toBeLessThanOrEqual(killedAt);
        expect(killedAt - first.endedAt).toBeLessThan(UNRECORDED_WINDOW_MS);
        expect(audit.records.find((r) => r.outcome === 'duplicate')!.startedAt).toBeGreaterThan(killedAt);
      }
      // Per device, only pushes in flight are re-pushed. A group also re-pushes what it
      // finished since its last heartbeat, so fast mode may exceed max-in-flight by that much.
      if (mode === 'per-device') expect(again.length).toBeLessThanOrEqual(maxInFlight);
      const cut = sim.attempts.filter((a) => a.aborted).length;
      const gap = Math.max(0, ...again.map((a) => killedAt - appliedRecord(a).endedAt));
      const note = `${cut} pushes cut by the kill; re-pushed devices applied ≤ ${gap} ms before it`;
      record(`SIGKILL worker (${mode})`, audits, sim, since, note);
    },
    150_000,
  );
});

describe('the dev server killed mid-rollout', () => {
  it('restarted on the same database and port, the same worker reconnects and nothing is lost', async () => {
    const since = Date.now();
    const env = await testEnv('durability-server');
    const dbFile = join(env.dataDir, 'temporal', 'dev.db');
    let server = await startTestDevServer({ dbFile });
    cleanups.push(() => server.stop());
    const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1));
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const own: TestEnv = { ...env, client: new Client({ connection }) };
    const worker = await workerProcess(env, { TEMPORAL_ADDRESS: server.address });
    const total = 200;
    const maxInFlight = 20;
    const sim = await env.simulator(total, () => ({ latencyMs: [50, 150] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { batchSize: 100, maxInFlight, failureThreshold: 0.5 },
    });
    const handle = await startRollout(own, input);
    await waitFor(
      () => sim.stats().applied >= total / 3 && sim.stats().inFlight >= maxInFlight / 2,
      60_000,
      'a third of the fleet applied, pushes in flight',
    );

    const inFlightAtKill = sim.stats().inFlight;
    const killedAt = Date.now();
    process.kill(server.pid!, 'SIGKILL');
    await server.exited;
    await sleep(2000);
    // Until a new server process exists nothing can be handed out; once it does (before
    // startTestDevServer returns: it also waits for the namespace) the worker may resume.
    const restartingAt = Date.now();
    server = await startTestDevServer({ dbFile, port });
    const upAt = Date.now();
    const ending = await outcomeOf(handle);

    const { report, audits } = await audited(own.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total, failed: 0, aborted: 0, notAttempted: 0 });
    expect(sim.stats()).toMatchObject({ devicesApplied: total, applied: total, rejected: 0 });
    // The worker that ran before the crash finished the rollout: it reconnected on its own.
    expect(await Promise.race([worker.exited, sleep(0, 'running')])).toBe('running');
    // With the server down nothing new was handed out: the pushes that started meanwhile
    // are the ones the worker already held (they may start late on a loaded machine).
    const startedWhileDown = sim.attempts.filter(
      (a) => a.startedAt >= killedAt && a.startedAt < restartingAt,
    );
    expect(startedWhileDown.length + inFlightAtKill).toBeLessThanOrEqual(maxInFlight);
    // A duplicate is a push that ended while its completion could not be recorded.
    for (const audit of duplicated(audits)) expect(appliedRecord(audit).endedAt).toBeLessThan(upAt);
    expect(sim.stats().duplicates).toBeLessThanOrEqual(maxInFlight);
    const down = ((upAt - killedAt) / 1000).toFixed(1);
    record('dev server SIGKILL + restart', audits, sim, since, `server down ${down} s, same worker`);
  }, 150_000);
});

/** Which worker ran the last attempt of each push of a batch, and which attempt it was. */
async function lastAttempts(
  client: Client,
  batchId: string,
): Promise<Map<string, { attempt: number; identity: string }>> {
  const events = (await client.workflow.getHandle(batchId).fetchHistory()).events ?? [];
  const deviceOf = new Map<string, string>();
  const last = new Map<string, { attempt: number; identity: string }>();
  for (const event of events) {
    const summary = event.userMetadata?.summary?.data;
    if (event.activityTaskScheduledEventAttributes && summary) {
      const text = JSON.parse(Buffer.from(summary).toString()) as string;
      deviceOf.set(String(event.eventId), text.replace(/^push /, ''));
    }
    const started = event.activityTaskStartedEventAttributes;
    const device = deviceOf.get(String(started?.scheduledEventId));
    if (started && device)
      last.set(device, { attempt: started.attempt ?? 0, identity: started.identity ?? '' });
  }
  return last;
}

describe('a worker frozen (SIGSTOP) past the heartbeat timeout', () => {
  it('loses its pushes to retries, its stale attempts stop at their next heartbeat, nothing counted twice', async () => {
    const since = Date.now();
    const env = await testEnv('durability-freeze');
    const workers = await Promise.all([workerProcess(env), workerProcess(env)]);
    // Devices 30–49 answer after 18 s: once the first 30 are done they fill all 20 slots, and
    // the frozen worker's requests are still open at the devices when it wakes up.
    const total = 100;
    const slow = (i: number): boolean => i >= 30 && i < 50;
    const slowMs = 18_000;
    const sim = await env.simulator(total, (_id, i) => ({ latencyMs: slow(i) ? slowMs : [20, 60] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { batchSize: total, maxInFlight: 20, failureThreshold: 0.5 },
    });
    const handle = await startRollout(env, input);
    await waitFor(
      () => sim.stats().devicesApplied >= 30 && sim.stats().inFlight === 20,
      60_000,
      'the 20 slow devices in flight',
    );
    const batchId = batchWorkflowId(handle.workflowId, 0);
    const pending = async () =>
      (await env.client.workflow.getHandle(batchId).describe()).raw.pendingActivities ?? [];
    const holders = await pending();
    const heldBy = (w: WorkerProcess) => holders.filter((p) => p.lastWorkerIdentity === w.identity);
    const [frozen, other] =
      heldBy(workers[0]).length >= heldBy(workers[1]).length ? workers : [workers[1], workers[0]];
    const held = new Set(heldBy(frozen).map((p) => p.activityId));
    expect(held.size).toBeGreaterThan(0);

    frozen.signal('SIGSTOP');
    const stoppedAt = Date.now();
    // Wake it only once Temporal has timed out every attempt it holds (no heartbeat for 10 s).
    await waitFor(
      async () => (await pending()).every((p) => !held.has(p.activityId) || (p.attempt ?? 1) >= 2),
      30_000,
      'the frozen attempts timed out',
    );
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(9_000);
    frozen.signal('SIGCONT');
    const resumedAt = Date.now();
    const ending = await outcomeOf(handle);

    const { report, audits } = await audited(env.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total, failed: 0, aborted: 0, notAttempted: 0 });
    expect(sim.stats()).toMatchObject({ devicesApplied: total, applied: total, duplicates: 0 });
    const stale = sim.attempts.filter((a) => a.outcome === 'aborted');
    expect(stale.length).toBe(held.size);
    for (const attempt of stale) {
      expect(slow(sim.ids.indexOf(attempt.deviceId))).toBe(true);
      // Stopped by the woken worker within about one heartbeat, long before the device answered.
      expect(attempt.endedAt).toBeGreaterThanOrEqual(resumedAt);
      expect(attempt.endedAt - resumedAt).toBeLessThan(3000);
      expect(attempt.endedAt - attempt.startedAt).toBeLessThan(slowMs);
    }
    // Every device the frozen worker held succeeded on a retry; the other worker ran some of
    // them (a frozen worker's open polls may still be handed a few, which it runs on waking).
    const last = await lastAttempts(env.client, batchId);
    const retried = stale.map((a) => last.get(a.deviceId));
    for (const final of retried) expect(final?.attempt).toBeGreaterThanOrEqual(2);
    expect(retried.filter((final) => final?.identity === other.identity).length).toBeGreaterThan(0);
    const stopMs = Math.max(...stale.map((a) => a.endedAt - resumedAt));
    const byOther = retried.filter((final) => final?.identity === other.identity).length;
    const note = `${stale.length} stale attempts stopped ≤ ${stopMs} ms after SIGCONT; ${byOther} retried on the other worker`;
    record('SIGSTOP worker 10 s+ / SIGCONT', audits, sim, since, note);
  }, 150_000);
});

describe('a network partition (simulator blackhole)', () => {
  const partition = {
    attemptTimeoutMs: 500,
    initialIntervalMs: 300,
    maxIntervalMs: 1000,
    failureThreshold: 0.2,
    minSamples: 10,
  };

  it('longer than a retry interval: partitioned devices are retried, succeed and never count as failures', async () => {
    const since = Date.now();
    const env = await testEnv('durability-partition');
    await env.startWorker();
    const total = 80;
    const sim = await env.simulator(total, () => ({ latencyMs: [20, 60] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { ...partition, maxAttempts: 8, batchSize: total, maxInFlight: 10 },
    });
    const handle = await startRollout(env, input);
    await waitFor(() => sim.stats().applied >= 20, 60_000, '20 devices applied');
    sim.setBlackhole(true);
    await sleep(2000);
    const appliedAtHeal = sim.stats().applied;
    sim.setBlackhole(false);
    const healedAt = Date.now();
    const ending = await outcomeOf(handle);

    const { report, audits } = await audited(env.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total, failed: 0, breaker: { tripped: false } });
    expect(sim.stats()).toMatchObject({ devicesApplied: total, applied: total, duplicates: 0 });
    const partitioned = [...audits.values()].filter((a) => (a.attempts ?? 0) > 1);
    expect(partitioned.length).toBeGreaterThan(0);
    for (const audit of partitioned) {
      // Blackholed requests leave no record: the one delivery a device saw came after the heal.
      expect(audit.records).toHaveLength(1);
      expect(audit.records[0]!.startedAt).toBeGreaterThanOrEqual(healedAt);
    }
    // The partition outlasted more than one retry interval …
    expect(Math.max(...partitioned.map((a) => a.attempts!))).toBeGreaterThanOrEqual(3);
    // … and failed enough attempts to trip the breaker, had attempts counted as failures.
    const failedAttempts = partitioned.reduce((sum, a) => sum + a.attempts! - 1, 0);
    expect(failedAttempts / (appliedAtHeal + failedAttempts)).toBeGreaterThan(partition.failureThreshold);
    const note = `${partitioned.length} devices retried, ${failedAttempts} failed attempts, breaker not tripped`;
    record('partition 2 s (heals)', audits, sim, since, note);
  });

  it('that outlasts every retry: devices fail AttemptTimeout after all attempts and the breaker halts', async () => {
    const since = Date.now();
    const env = await testEnv('durability-partition-long');
    await env.startWorker();
    const total = 60;
    const maxAttempts = 4;
    const sim = await env.simulator(total, () => ({ latencyMs: [20, 60] }));
    const { input } = await prepareRollout(env, sim, {
      settings: { ...partition, maxAttempts, batchSize: 30, maxInFlight: 10 },
    });
    const handle = await startRollout(env, input);
    await waitFor(() => sim.stats().applied >= 10, 60_000, '10 devices applied');
    sim.setBlackhole(true);
    const ending = await outcomeOf(handle);
    sim.setBlackhole(false);

    const { report, audits } = await audited(env.client, ending, sim, 'halted');
    expect(report.breaker.tripped).toBe(true);
    expect(report.breaker.reason).toMatch(/exceeded the threshold 0.2/);
    expect(report.failed / (report.failed + report.succeeded)).toBeGreaterThan(partition.failureThreshold);
    expect(report.notAttempted).toBeGreaterThan(0);
    const { failed, succeeded } = byOutcome(audits);
    for (const audit of failed) {
      // A device counts as failed only once its retries are exhausted.
      expect(audit).toMatchObject({ errorType: 'AttemptTimeout', attempts: maxAttempts, records: [] });
    }
    expect(sim.stats().devicesApplied).toBe(succeeded.length);
    const note = `${failed.length} failed AttemptTimeout after ${maxAttempts} attempts each; breaker halted`;
    record('partition outlasts retries', audits, sim, since, note);
  });
});

describe.each(['per-device', 'fast'] as const)('faulty deliveries in %s mode', (mode) => {
  it('retries devices that close the connection mid-body and counts only complete bodies as applied', async () => {
    const since = Date.now();
    const env = await testEnv(`durability-partial-${mode}`);
    await env.startWorker();
    const total = 40;
    const artifact = randomBytes(256 * 1024);
    // 0–9 cut the first two bodies in half, then take one; 10–11 cut every body.
    const sim = await env.simulator(total, (_id, i) => {
      if (i < 10) return { failure: { mode: 'closeMidBody', firstAttempts: 2 } };
      if (i < 12) return { failure: { mode: 'closeMidBody' } };
      return {};
    });
    const { input } = await prepareRollout(env, sim, {
      artifact,
      settings: { mode, maxAttempts: 3, initialIntervalMs: 200 },
    });
    const ending = await outcomeOf(await startRollout(env, input));

    const { report, audits } = await audited(env.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total - 2, failed: 2 });
    expect(sim.stats()).toMatchObject({
      devicesApplied: total - 2,
      applied: total - 2,
      duplicates: 0,
      rejected: 0,
    });
    for (const r of sim.attempts.filter((a) => a.outcome === 'applied')) {
      expect(r).toMatchObject({ bytes: artifact.length, lengthOk: true, digestOk: true });
    }
    sim.ids.forEach((id, i) => {
      const audit = audits.get(id)!;
      const cut = audit.records.filter((r) => r.outcome === 'failed');
      for (const r of cut) expect(r).toMatchObject({ status: null, lengthOk: false, digestOk: false });
      for (const r of cut) expect(r.bytes).toBeLessThan(artifact.length);
      if (i < 10) {
        expect(audit.records.map((r) => r.outcome)).toEqual(['failed', 'failed', 'applied']);
        expect(audit).toMatchObject({ outcome: 'succeeded', attempts: 3 });
      } else if (i < 12) {
        expect(audit.records.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed']);
        expect(audit).toMatchObject({ outcome: 'failed', attempts: 3, errorType: 'ConnectionReset' });
      } else {
        expect(audit.records.map((r) => r.outcome)).toEqual(['applied']);
      }
    });
    record(`closeMidBody (${mode})`, audits, sim, since);
  });

  it('retries a device whose answer was lost with the same key, and counts it once', async () => {
    const since = Date.now();
    const env = await testEnv(`durability-lost-answer-${mode}`);
    await env.startWorker();
    const total = 30;
    const lost = 10;
    const sim = await env.simulator(total, (_id, i) =>
      i < lost ? { failure: { mode: 'applyThenReset', firstAttempts: 1 } } : {},
    );
    const { input } = await prepareRollout(env, sim, { settings: { mode, initialIntervalMs: 200 } });
    const ending = await outcomeOf(await startRollout(env, input));

    const { report, audits } = await audited(env.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total, failed: 0 });
    expect(sim.stats()).toMatchObject({ devicesApplied: total, applied: total, duplicates: lost });
    sim.ids.forEach((id, i) => {
      const audit = audits.get(id)!;
      if (i >= lost) return expect(audit.records.map((r) => r.outcome)).toEqual(['applied']);
      // Applied, answer lost (reset, no status); the retry's same key is answered "already applied".
      expect(audit.records.map((r) => [r.outcome, r.status])).toEqual([
        ['applied', null],
        ['duplicate', 200],
      ]);
      expect(audit).toMatchObject({ outcome: 'succeeded', attempts: 2 });
    });
    record(`applyThenReset (${mode})`, audits, sim, since);
  });
});

/** `npm run --silent rollout -- …args` as an operator runs it. */
const rolloutCli = (env: TestEnv, args: string[]): Promise<CliRun> => runRollout(args, env.processEnv());

describe('the same rollout id started twice through the CLI', () => {
  it('refuses the second start with a conflict, while running and after, and delivers nothing twice', async () => {
    const since = Date.now();
    const env = await testEnv('durability-cli');
    await env.startWorker();
    const total = 30;
    const sim = await env.simulator(total, () => ({ latencyMs: [20, 60] }));
    const { fleetPath, artifactPath } = await prepareRollout(env, sim);
    const id = `durability-twice-${Date.now()}`;
    // An approval gate after 10 devices holds the first rollout running, deterministically.
    const start = ['start', '--fleet', fleetPath, '--artifact', artifactPath, '--id', id];
    const first = await rolloutCli(env, [...start, '--waves', '10,100%', '--approve-waves']);
    expect(first.code, first.stderr).toBe(0);
    const handle = env.client.workflow.getHandle(id);
    await waitFor(
      async () =>
        sim.stats().applied === 10 &&
        (await handle.query(progressQuery).then(
          (p) => p.waitingFor?.kind === 'approval',
          () => false,
        )),
      60_000,
      'the approval gate',
    );
    const { runId } = await handle.describe();

    const conflicts = [await rolloutCli(env, start)];
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(sim.stats().attempts).toBe(10);
    await handle.signal(approveSignal);
    const ending = await outcomeOf(handle);
    const attempts = sim.stats().attempts;
    conflicts.push(await rolloutCli(env, start));
    await sleep(1000);

    for (const run of conflicts) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`a rollout with id "${id}" already exists`);
    }
    expect(sim.stats().attempts).toBe(attempts);
    expect((await handle.describe()).runId).toBe(runId);
    const { report, audits } = await audited(env.client, ending, sim, 'completed');
    expect(report).toMatchObject({ succeeded: total, failed: 0 });
    expect(sim.stats()).toMatchObject({ attempts: total, devicesApplied: total, duplicates: 0 });
    record('same id started twice (CLI)', audits, sim, since);
  }, 150_000);
});

describe('the artifact file changed on disk mid-rollout', () => {
  it.each([
    ['streamed', SMALL_ARTIFACT_BYTES + 512 * 1024],
    ['cached', 64 * 1024],
  ] as const)(
    'halts the rollout with ArtifactChanged; a %s artifact never reaches a device in its new content',
    async (kind, size) => {
      const since = Date.now();
      const env = await testEnv(`durability-artifact-${kind}`);
      await env.startWorker();
      const total = 60;
      const sim = await env.simulator(total, () => ({ latencyMs: [50, 150] }));
      const artifact = randomBytes(size);
      const { input, artifactPath } = await prepareRollout(env, sim, {
        artifact,
        settings: { batchSize: total, maxInFlight: 10, failureThreshold: 0.5 },
      });
      const handle = await startRollout(env, input);
      await waitFor(() => sim.stats().applied >= 15, 60_000, '15 devices applied');
      // Edited in place: same size, new bytes, so only the digest can tell.
      const edited = randomBytes(size);
      const file = openSync(artifactPath, 'r+');
      writeSync(file, edited, 0, size, 0);
      closeSync(file);
      const ending = await outcomeOf(handle);

      const { report, audits } = await audited(env.client, ending, sim, 'halted');
      expect(report.breaker.reason).toMatch(/ArtifactChanged/);
      expect(report.failuresByType.ArtifactChanged).toBeGreaterThan(0);
      for (const audit of byOutcome(audits).failed) {
        expect(audit).toMatchObject({ errorType: 'ArtifactChanged', applied: 0 });
      }
      // A complete body with other content would fail the device's digest check (rejected).
      expect(sim.stats().rejected).toBe(0);
      for (const r of sim.attempts) if (r.bytes === size) expect(r.digestOk).toBe(true);
      // No mixed versions: every device runs the original artifact or nothing.
      const original = contentDigest(sha256Of(artifact, 'base64'));
      for (const id of sim.ids) {
        const status = (await (await fetch(sim.statusUrl(id))).json()) as DeviceStatusReport;
        expect(status.digest).toBe(audits.get(id)!.applied === 1 ? original : null);
      }
      record(`artifact edited mid-rollout (${kind})`, audits, sim, since);
    },
  );
});
