/**
 * Verified completion through the real push activity, run in a MockActivityEnvironment (the
 * activity Context only) against the simulator's status endpoints and bare local servers, with
 * the worker's real undici dispatcher.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushUpdate } from '../../activities/push.js';
import { FailureType } from '../../shared/failure-types.js';
import type { ArtifactRef, DeviceTarget, PushInput, PushResult, VerifySpec } from '../../shared/types.js';
import { DeviceSimulator, type DeviceBehavior } from '../../simulator/index.js';
import {
  activityEnv,
  asFailure,
  runPush,
  testDispatcher,
  until,
  writeArtifact,
} from '../helpers/activity-run.js';

let dir: string;
let artifact: ArtifactRef;
let dispatcher: Agent;
let pushUpdate: (input: PushInput) => Promise<PushResult>;
const sims: DeviceSimulator[] = [];
const servers: Server[] = [];
// Small timeouts keep the suite fast; the 50 ms interval still makes several polls per test.
const FAST: Omit<VerifySpec, 'urlTemplate'> = { timeoutMs: 300, intervalMs: 50 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-test-'));
  artifact = await writeArtifact(dir, 'a.bin', Buffer.from('verified artifact '.repeat(100)));
  dispatcher = testDispatcher();
  pushUpdate = createPushUpdate({ dispatcher, heartbeatIntervalMs: 50 });
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await dispatcher.close();
  await rm(dir, { recursive: true, force: true });
});

/** A simulator playing `ids`, each behaving as given. */
async function devices(ids: string[], behavior: DeviceBehavior = {}): Promise<DeviceSimulator> {
  const sim = await DeviceSimulator.start({ devices: ids, behavior: () => behavior });
  sims.push(sim);
  return sim;
}

/** A bare local HTTP server; resolves with its base URL. */
async function server(handler: RequestListener): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function input(target: Partial<DeviceTarget> & { id: string; url: string }, verify: VerifySpec): PushInput {
  return {
    rolloutId: 'rollout-v1',
    device: { priority: 0, ...target },
    artifact,
    attemptTimeoutMs: 5000,
    verify,
  };
}

/** Runs one attempt in `env`; resolves with its result or its error. */
function attempt(push: PushInput, env = activityEnv()): Promise<PushResult | Error> {
  return runPush(pushUpdate, push, env);
}

const statusJson = (digest: string | null): string => JSON.stringify({ id: 'x', digest, applied: 1 });

describe('pushUpdate with verified completion', () => {
  it('succeeds once the device reports the artifact, confirmed after a delay', async () => {
    const sim = await devices(['dev-late'], { confirm: { delayMs: 200 } });
    const started = Date.now();
    const result = await attempt(
      input(
        { id: 'dev-late', url: sim.deviceUrl('dev-late') },
        { ...FAST, urlTemplate: sim.statusUrlTemplate },
      ),
    );
    expect(result).toMatchObject({ status: 200, attempt: 1, bytes: artifact.size });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(sim.stats()).toMatchObject({ attempts: 1, applied: 1 });
    expect(sim.stats().statusPolls).toBeGreaterThanOrEqual(2);
  });

  it('fails with non-retryable VerifyTimeout after about the timeout when the device never confirms', async () => {
    const sim = await devices(['dev-never'], { confirm: { never: true } });
    const statusUrl = sim.statusUrl('dev-never');
    const started = Date.now();
    const failure = asFailure(
      await attempt(
        input(
          { id: 'dev-never', url: sim.deviceUrl('dev-never') },
          { ...FAST, urlTemplate: sim.statusUrlTemplate },
        ),
      ),
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1500);
    expect(failure).toMatchObject({ type: FailureType.VerifyTimeout, nonRetryable: true });
    expect(failure.details).toEqual([{ attempt: 1 }]);
    expect(failure.message).toMatch(
      /^device dev-never: accepted the update but did not report it within the verify timeout: waited \d+ ms \(timeout 300 ms, \d+ polls\)/,
    );
    expect(failure.message).toContain(`for ${statusUrl} to report digest sha-256=:${artifact.sha256}:`);
    expect(failure.message).toContain(
      'last report: HTTP 200 OK {"id":"dev-never","digest":null,"applied":1}',
    );
    // Polls are not push attempts: the device saw exactly one delivery.
    expect(sim.stats()).toMatchObject({ attempts: 1, applied: 1 });
    expect(sim.stats().statusPolls).toBeGreaterThanOrEqual(4);
  });

  it("polls the device's statusUrl rather than the template", async () => {
    const sim = await devices(['dev-own']);
    const elsewhere = await devices(['dev-own']); // same id, never pushed: would report null
    const target = { id: 'dev-own', url: sim.deviceUrl('dev-own'), statusUrl: sim.statusUrl('dev-own') };
    const result = await attempt(input(target, { ...FAST, urlTemplate: elsewhere.statusUrlTemplate }));
    expect(result).toMatchObject({ status: 200 });
    expect(sim.stats().statusPolls).toBeGreaterThanOrEqual(1);
    expect(elsewhere.stats().statusPolls).toBe(0);
  });

  it('puts the URL-encoded device id into the template', async () => {
    const sim = await devices(['pump/7 a'], { confirm: { delayMs: 60 } });
    const result = await attempt(
      input(
        { id: 'pump/7 a', url: sim.deviceUrl('pump/7 a') },
        { ...FAST, urlTemplate: sim.statusUrlTemplate },
      ),
    );
    expect(result).toMatchObject({ status: 200 });
    expect(sim.stats().statusPolls).toBeGreaterThanOrEqual(2);
  });

  it('does not verify a device that has no status URL', async () => {
    const sim = await devices(['dev-plain'], { confirm: { never: true } });
    const result = await attempt(input({ id: 'dev-plain', url: sim.deviceUrl('dev-plain') }, FAST));
    expect(result).toMatchObject({ status: 200 });
    expect(sim.stats().statusPolls).toBe(0);
  });

  it('takes a non-2xx, a body that is not JSON, or JSON without a digest as "not yet"', async () => {
    const answers: Array<[number, string]> = [
      [503, '{"digest":"ignored on a 503"}'],
      [200, 'rebooting'],
      [200, '{"version":2}'],
      [200, statusJson('sha-256=:other:')],
      [200, statusJson(`sha-256=:${artifact.sha256}:`)],
    ];
    let polls = 0;
    const base = await server((req, res) => {
      req.resume();
      if (req.method === 'POST') return void res.writeHead(204).end();
      const [status, body] = answers[Math.min(polls++, answers.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    const result = await attempt(
      input(
        { id: 'dev-b', url: `${base}/update`, statusUrl: `${base}/status` },
        { timeoutMs: 2000, intervalMs: 20 },
      ),
    );
    expect(result).toMatchObject({ status: 204 });
    expect(polls).toBe(answers.length);
  });

  it('says what the device last reported: a refused connection', async () => {
    const sim = await devices(['dev-down']);
    const statusUrl = `http://127.0.0.1:${await closedPort()}/devices/dev-down/status`;
    const failure = asFailure(
      await attempt(input({ id: 'dev-down', url: sim.deviceUrl('dev-down'), statusUrl }, FAST)),
    );
    expect(failure).toMatchObject({ type: FailureType.VerifyTimeout, nonRetryable: true });
    expect(failure.message).toContain(`for ${statusUrl} to report`);
    expect(failure.message).toMatch(/last report: connection refused/);
  });

  it('cuts a poll that hangs at the verify deadline', async () => {
    const base = await server((req, res) => {
      req.resume();
      if (req.method === 'POST') res.writeHead(200).end(); // the status request is never answered
    });
    const started = Date.now();
    const failure = asFailure(
      await attempt(input({ id: 'dev-mute', url: `${base}/update`, statusUrl: `${base}/status` }, FAST)),
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(failure.type).toBe(FailureType.VerifyTimeout);
    expect(failure.message).toContain('(timeout 300 ms, 1 poll)');
    expect(failure.message).toContain('last report: no answer within 300 ms');
  });

  it('sends the device credential and headers on polls to its own origin only', async () => {
    const seen: Array<{ line: string; headers: IncomingHttpHeaders }> = [];
    const record: RequestListener = (req, res) => {
      seen.push({ line: `${req.method} ${req.url}`, headers: req.headers });
      req.resume();
      req.on('end', () => res.writeHead(200).end(statusJson(`sha-256=:${artifact.sha256}:`)));
    };
    const device = await server(record);
    const inventory = await server(record);
    process.env['VERIFY_TEST_TOKEN'] = 'tok-v1';
    try {
      const target = {
        id: 'dev-a',
        url: `${device}/update`,
        token: 'env:VERIFY_TEST_TOKEN',
        headers: { 'x-site': 'eu-1' },
      };
      expect(await attempt(input(target, { ...FAST, urlTemplate: `${device}/status/{id}` }))).toMatchObject({
        status: 200,
      });
      expect(
        await attempt(input(target, { ...FAST, urlTemplate: `${inventory}/status/{id}` })),
      ).toMatchObject({ status: 200 });
    } finally {
      delete process.env['VERIFY_TEST_TOKEN'];
    }
    const polls = seen.filter((s) => s.line.startsWith('GET'));
    expect(polls.map((p) => p.line)).toEqual(['GET /status/dev-a', 'GET /status/dev-a']);
    expect(polls[0]?.headers).toMatchObject({
      authorization: 'Bearer tok-v1',
      'x-site': 'eu-1',
      accept: 'application/json',
    });
    expect(polls[1]?.headers['authorization']).toBeUndefined();
    expect(polls[1]?.headers['x-site']).toBeUndefined();
  });

  it('heartbeats the verification progress', async () => {
    const sim = await devices(['dev-hb'], { confirm: { delayMs: 250 } });
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    await attempt(
      input({ id: 'dev-hb', url: sim.deviceUrl('dev-hb') }, { ...FAST, urlTemplate: sim.statusUrlTemplate }),
      env,
    );
    expect(beats.at(-1)).toMatchObject({
      bytesSent: artifact.size,
      verify: {
        polls: expect.any(Number) as number,
        last: 'HTTP 200 OK {"id":"dev-hb","digest":null,"applied":1}',
      },
    });
  });
});

describe('pushUpdate verification and cancellation', () => {
  it('aborts verification promptly when cancelled between polls', async () => {
    const sim = await devices(['dev-c1'], { confirm: { never: true } });
    const env = activityEnv();
    const outcome = attempt(
      input(
        { id: 'dev-c1', url: sim.deviceUrl('dev-c1') },
        { timeoutMs: 60_000, intervalMs: 10_000, urlTemplate: sim.statusUrlTemplate },
      ),
      env,
    );
    await until(() => sim.stats().statusPolls === 1, 'the first poll');
    const cancelledAt = Date.now();
    env.cancel();
    expect(await outcome).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelledAt).toBeLessThan(500);
  });

  it('aborts a poll in flight promptly when cancelled', async () => {
    let polled = false;
    const base = await server((req, res) => {
      req.resume();
      if (req.method === 'POST') res.writeHead(200).end();
      else polled = true; // never answered
    });
    const env = activityEnv();
    const outcome = attempt(
      input(
        { id: 'dev-c2', url: `${base}/update`, statusUrl: `${base}/status` },
        { timeoutMs: 60_000, intervalMs: 50 },
      ),
      env,
    );
    await until(() => polled, 'the poll to reach the device');
    const cancelledAt = Date.now();
    env.cancel();
    expect(await outcome).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelledAt).toBeLessThan(500);
  });
});
