/**
 * Security of real rollouts (issue 5) on the dev server, with an in-process worker and the
 * simulator as an HTTPS fleet whose devices demand a client certificate and a bearer token:
 * - secrets never reach Temporal: the token (from an environment variable only the worker
 *   sees) and the worker's client key appear nowhere in the rollout's history, its batches'
 *   histories, its progress, memo or search attributes — every payload decoded — while every
 *   device did receive the token over mutual TLS;
 * - certificate trouble is permanent: a device certificate the worker cannot verify, or a
 *   device that wants a client certificate the worker lacks, fails TlsCertificateError after
 *   one attempt, and the device never sees a request;
 * - the worker's PUSH_ALLOW_HOSTS holds even when the client check is bypassed: a fleet naming
 *   another host fails HostNotAllowed without a connection.
 * Certificates are made by `openssl` for the run (test/helpers/test-pki.ts).
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureType } from '../../shared/failure-types.js';
import type { DeviceBehavior, SimulatorTlsOptions } from '../../simulator/index.js';
import { DeviceSimulator } from '../../simulator/index.js';
import { loadWorkerConfig } from '../../worker/config.js';
import type { RolloutSettings } from '../../workflows/definitions.js';
import { progressQuery } from '../../workflows/definitions.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout } from '../helpers/temporal-env.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';

/** The device token: known to the devices and, through an environment variable, to the worker only. */
const SECRET = `tok-${randomBytes(18).toString('hex')}`;
const TOKEN_VAR = `ROLLOUT_SECURITY_TOKEN_${process.pid}`;

let pki: TestPki;
const envs: TestEnv[] = [];
const sims: DeviceSimulator[] = [];

beforeAll(() => {
  pki = createTestPki();
  process.env[TOKEN_VAR] = SECRET;
});

afterAll(async () => {
  await Promise.all(envs.map((env) => env.close()));
  await Promise.all(sims.map((sim) => sim.close()));
  delete process.env[TOKEN_VAR];
  pki?.close();
});

/**
 * A test environment whose in-process worker is configured from these PUSH_* variables, read by
 * the worker's own configuration code.
 */
async function envWith(name: string, push: NodeJS.ProcessEnv): Promise<TestEnv> {
  const env = await createTestEnv(name);
  envs.push(env);
  const { pushTls, allowHosts } = loadWorkerConfig(push);
  if (pushTls !== undefined) env.workerConfig.pushTls = pushTls;
  if (allowHosts !== undefined) env.workerConfig.allowHosts = allowHosts;
  await env.startWorker();
  return env;
}

async function fleet(
  devices: number,
  tls: SimulatorTlsOptions | undefined,
  behavior: DeviceBehavior = {},
): Promise<DeviceSimulator> {
  const sim = await DeviceSimulator.start({ devices, behavior: () => behavior, ...(tls ? { tls } : {}) });
  sims.push(sim);
  return sim;
}

const MUTUAL_TLS = (): SimulatorTlsOptions => ({
  key: pki.device.key,
  cert: pki.device.cert,
  ca: pki.clientCa.cert,
  requestCert: true,
});

/** Settings that let every device fail without tripping the breaker (these tests count failures). */
const NO_BREAKER: Partial<RolloutSettings> = { failureThreshold: 1, batchSize: 10 };

/** Every history of a rollout: each of its runs (continue-as-new) and each batch child's. */
async function allHistories(handle: WorkflowHandle): Promise<Map<string, temporal.api.history.v1.IHistory>> {
  const histories = new Map<string, temporal.api.history.v1.IHistory>();
  const client = handle.client;
  const fetch = (id: string, runId?: string): Promise<temporal.api.history.v1.IHistory> =>
    client.getHandle(id, runId).fetchHistory();
  let runId: string | undefined = (await handle.describe()).runId;
  while (runId) {
    const history = await fetch(handle.workflowId, runId);
    histories.set(`${handle.workflowId} run ${runId}`, history);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  }
  const children = [...histories.values()].flatMap((h) =>
    (h.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []),
  );
  for (const id of new Set(children)) histories.set(id, await fetch(id));
  return histories;
}

/** Bytes as the text they hold: what a payload's `data` says once decoded. */
function decodedReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  const buffer = value as { type?: unknown; data?: unknown } | null;
  if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) {
    return Buffer.from(buffer.data as number[]).toString('utf8');
  }
  return value;
}

/**
 * Everything Temporal holds about a rollout, as searchable text: each history twice — as the
 * decoded proto object and as the JSON form `temporal workflow show` gives, with every base64
 * `data` field decoded — plus progress, memo and search attributes.
 */
async function everythingTemporalHolds(handle: WorkflowHandle): Promise<{ text: string; events: number }> {
  const parts: string[] = [];
  let events = 0;
  for (const [name, history] of await allHistories(handle)) {
    events += history.events?.length ?? 0;
    parts.push(name, JSON.stringify(history, decodedReplacer));
    const json = historyToJSON(history);
    parts.push(json);
    for (const match of json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)) {
      parts.push(Buffer.from(match[1] ?? '', 'base64').toString('utf8'));
    }
  }
  const description = await handle.describe();
  parts.push(
    JSON.stringify(await handle.query(progressQuery)),
    JSON.stringify(description.memo ?? {}),
    JSON.stringify(description.typedSearchAttributes),
    JSON.stringify(description.raw, decodedReplacer),
  );
  return { text: parts.join('\n'), events };
}

/** The base64 body of a PEM block (the key material itself), one line of it at least. */
function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

describe('a rollout over mutual TLS whose devices require a bearer token', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await envWith('security-mtls', {
      PUSH_CA_FILE: pki.deviceCa.certPath,
      PUSH_CLIENT_CERT_FILE: pki.client.certPath,
      PUSH_CLIENT_KEY_FILE: pki.client.keyPath,
      PUSH_ALLOW_HOSTS: '127.0.0.1',
    });
  });

  it.each(['per-device', 'fast'] as const)(
    'delivers to every device, which sees the token, and no secret reaches Temporal (%s mode)',
    async (mode) => {
      const sim = await fleet(30, MUTUAL_TLS(), { requireToken: SECRET });
      const { input } = await prepareRollout(env, sim, {
        settings: { mode, batchSize: 10, verifyTimeoutMs: 10_000 },
        // Every device has a status URL on its own origin: status polls carry the token too.
        fleet: { token: () => `env:${TOKEN_VAR}`, statusUrl: true },
      });
      const handle = await startRollout(env, input);
      const ending = await outcomeOf(handle);
      expect(ending.status).toBe('completed');
      expect(ending.report).toMatchObject({ total: 30, succeeded: 30, failed: 0 });

      // The devices received the token, over mutual TLS: every request carried it.
      expect(sim.stats()).toMatchObject({ devicesApplied: 30, tlsFailures: 0, rejected: 0 });
      expect(sim.attempts.length).toBeGreaterThanOrEqual(30);
      expect(sim.attempts.every((a) => a.token === 'valid')).toBe(true);

      const { text, events } = await everythingTemporalHolds(handle);
      expect(events).toBeGreaterThan(50);
      // Positive controls: the search covers the device inputs (their token reference) and
      // decoded payloads (the device URLs travel only inside payloads).
      expect(text).toContain(`env:${TOKEN_VAR}`);
      expect(text).toContain(sim.deviceUrl(sim.ids[29]!));
      // The secret, in clear and base64, and the worker's key material: nowhere.
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
      for (const line of pemBodyLines(pki.client.key)) expect(text).not.toContain(line);
      expect(text).not.toContain('PRIVATE KEY');
    },
  );
});

describe('certificate trouble fails a device permanently, after one attempt', () => {
  let env: TestEnv;

  beforeAll(async () => {
    // The device CA, but no client certificate.
    env = await envWith('security-certs', { PUSH_CA_FILE: pki.deviceCa.certPath });
  });

  it.each<[string, () => SimulatorTlsOptions, RegExp]>([
    [
      'a device certificate no CA of the worker signed',
      () => ({ key: pki.rogueClient.key, cert: pki.rogueClient.cert }),
      /: TLS certificate error: the device's certificate is not signed by a CA the worker trusts — add that CA to PUSH_CA_FILE \(DEPTH_ZERO_SELF_SIGNED_CERT/,
    ],
    [
      'a device that requires a client certificate the worker lacks',
      MUTUAL_TLS,
      /: TLS certificate error: the device requires a client certificate and the worker has none — set PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE \(ERR_SSL_TLSV13_ALERT_CERT/,
    ],
  ])('%s: TlsCertificateError, one attempt each, no request seen', async (_what, tls, message) => {
    const sim = await fleet(6, tls());
    const { input } = await prepareRollout(env, sim, { settings: NO_BREAKER });
    const started = Date.now();
    const ending = await outcomeOf(await startRollout(env, input));
    expect(ending.status).toBe('completed');
    expect(ending.report).toMatchObject({
      total: 6,
      succeeded: 0,
      failed: 6,
      failuresByType: { [FailureType.TlsCertificateError]: 6 },
    });
    // Report messages keep their first 200 characters: what happened and the fix come first.
    for (const failure of ending.report?.failures ?? []) {
      expect(failure).toMatchObject({ errorType: FailureType.TlsCertificateError, attempts: 1 });
      expect(failure.message).toMatch(message);
    }
    // Retried, the second attempt alone would come 1 s later (--initial-interval).
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(sim.stats()).toMatchObject({ attempts: 0, devicesApplied: 0 });
    expect(sim.stats().tlsFailures).toBeGreaterThanOrEqual(6);
  });
});

describe("the worker's PUSH_ALLOW_HOSTS, with the client check bypassed", () => {
  it('fails every device on another host with HostNotAllowed, without a connection', async () => {
    const env = await envWith('security-allow', {
      PUSH_ALLOW_HOSTS: 'devices.example.com,*.fleet.example.net',
    });
    const sim = await fleet(5, undefined);
    const { input } = await prepareRollout(env, sim, { settings: NO_BREAKER });
    // Started as the client would, but no `--allow-hosts` ever looked at this fleet.
    const ending = await outcomeOf(await startRollout(env, input));
    expect(ending.report).toMatchObject({
      succeeded: 0,
      failed: 5,
      failuresByType: { [FailureType.HostNotAllowed]: 5 },
    });
    for (const failure of ending.report?.failures ?? []) {
      expect(failure).toMatchObject({ errorType: FailureType.HostNotAllowed, attempts: 1 });
      expect(failure.message).toContain(
        "is not allowed by this worker's PUSH_ALLOW_HOSTS (devices.example.com,*.fleet.example.net); nothing was sent",
      );
    }
    expect(sim.stats()).toMatchObject({ attempts: 0, connections: 0 });
  });
});
