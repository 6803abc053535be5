/**
 * Pushes over HTTPS with the worker's real dispatcher: a custom CA, mutual TLS, certificate
 * errors as permanent `TlsCertificateError`s, a bearer token over TLS. The push activity runs in
 * a MockActivityEnvironment against the simulator in HTTPS mode, with certificates made by
 * `openssl` for this run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type PushTlsOptions } from '../../activities/http.js';
import { createPushUpdate } from '../../activities/push.js';
import { FailureType } from '../../shared/failure-types.js';
import type { ArtifactRef, PushInput, PushResult } from '../../shared/types.js';
import { DeviceSimulator, type DeviceBehavior, type SimulatorTlsOptions } from '../../simulator/index.js';
import { asFailure, runPush, writeArtifact } from '../helpers/activity-run.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';

let pki: TestPki;
let dir: string;
let small: ArtifactRef;
let large: ArtifactRef;
const sims: DeviceSimulator[] = [];
const dispatchers: Agent[] = [];

beforeAll(async () => {
  pki = createTestPki();
  dir = await mkdtemp(join(tmpdir(), 'push-tls-'));
  small = await writeArtifact(dir, 'small.bin', randomBytes(4096));
  large = await writeArtifact(dir, 'large.bin', randomBytes(3 * 1024 * 1024));
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  await Promise.all(dispatchers.map((d) => d.close()));
  await rm(dir, { recursive: true, force: true });
  pki.close();
});

/** A simulator playing device `id` over HTTPS with `tls`. */
async function httpsDevice(
  id: string,
  tls: Partial<SimulatorTlsOptions> = {},
  behavior: DeviceBehavior = {},
): Promise<DeviceSimulator> {
  const sim = await DeviceSimulator.start({
    devices: [id],
    behavior: () => behavior,
    tls: { key: pki.device.key, cert: pki.device.cert, ...tls },
  });
  sims.push(sim);
  return sim;
}

const MUTUAL = (): Partial<SimulatorTlsOptions> => ({ ca: pki.clientCa.cert, requestCert: true });

/** The push activity over a dispatcher with these TLS options (as the worker config builds it). */
function pusher(tls?: PushTlsOptions): (input: PushInput) => Promise<PushResult> {
  const dispatcher = createDispatcher({
    connectionsPerOrigin: 4,
    keepAliveTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    ...(tls === undefined ? {} : { tls }),
  });
  dispatchers.push(dispatcher);
  return createPushUpdate({ dispatcher, heartbeatIntervalMs: 50 });
}

async function attempt(
  push: (input: PushInput) => Promise<PushResult>,
  sim: DeviceSimulator,
  id: string,
  extra: Partial<PushInput> & { token?: string } = {},
): Promise<PushResult | Error> {
  const { token, ...overrides } = extra;
  const input: PushInput = {
    rolloutId: 'rollout-tls',
    device: { id, url: sim.deviceUrl(id), priority: 0, ...(token === undefined ? {} : { token }) },
    artifact: small,
    attemptTimeoutMs: 5000,
    ...overrides,
  };
  return await runPush(push, input);
}

async function tlsFailures(sim: DeviceSimulator, n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (sim.stats().tlsFailures < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(sim.stats().tlsFailures).toBe(n);
}

describe('pushes over HTTPS', () => {
  it('succeeds with the CA of the device certificates from PUSH_CA_FILE', async () => {
    const sim = await httpsDevice('tls-ok');
    const result = await attempt(pusher({ ca: pki.deviceCa.cert }), sim, 'tls-ok');
    expect(result).toMatchObject({ status: 200, bytes: small.size });
    expect(sim.attemptsFor('tls-ok')).toMatchObject([{ outcome: 'applied', digestOk: true }]);
  });

  it.each<[string, () => SimulatorTlsOptions, () => PushTlsOptions | undefined, RegExp]>([
    [
      'without the CA of the device certificate',
      () => ({ key: pki.device.key, cert: pki.device.cert }),
      () => undefined,
      /the device's certificate is not signed by a CA the worker trusts — add that CA to PUSH_CA_FILE \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\)$/,
    ],
    [
      'with a certificate for another host',
      () => ({ key: pki.wrongHost.key, cert: pki.wrongHost.cert }),
      () => ({ ca: pki.deviceCa.cert }),
      /the device's certificate does not name the host of its URL — use a host it names in the fleet file, or reissue it \(ERR_TLS_CERT_ALTNAME_INVALID/,
    ],
    [
      'with an expired certificate',
      () => ({ key: pki.expired.key, cert: pki.expired.cert }),
      () => ({ ca: pki.deviceCa.cert }),
      /the device's certificate has expired or is not valid yet — renew it \(or fix the worker's clock\) \(CERT_HAS_EXPIRED: certificate has expired\)$/,
    ],
  ])(
    'fails a device %s with a permanent TlsCertificateError, before sending a byte',
    async (_name, deviceTls, workerTls, message) => {
      const id = `tls-bad-${sims.length}`;
      const sim = await httpsDevice(id, deviceTls());
      const failure = asFailure(await attempt(pusher(workerTls()), sim, id));
      expect(failure).toMatchObject({ type: FailureType.TlsCertificateError, nonRetryable: true });
      expect(failure.message).toMatch(new RegExp(`^device ${id}: TLS certificate error: `));
      expect(failure.message).toMatch(message);
      await tlsFailures(sim, 1);
      expect(sim.stats().attempts).toBe(0);
    },
  );
});

describe('pushes over mutual TLS', () => {
  const identity = (): PushTlsOptions => ({
    ca: pki.deviceCa.cert,
    cert: pki.client.cert,
    key: pki.client.key,
  });

  it('succeeds with the client certificate from PUSH_CLIENT_CERT_FILE/PUSH_CLIENT_KEY_FILE', async () => {
    const sim = await httpsDevice('mtls-ok', MUTUAL());
    expect(await attempt(pusher(identity()), sim, 'mtls-ok')).toMatchObject({ status: 200 });
    expect(await attempt(pusher(identity()), sim, 'mtls-ok', { artifact: large })).toMatchObject({
      status: 200,
      bytes: large.size,
    });
    expect(sim.stats()).toMatchObject({ attempts: 2, applied: 1, duplicates: 1, tlsFailures: 0 });
  });

  it('fails permanently, naming the fix, when the device requires a client certificate and the worker has none', async () => {
    const sim = await httpsDevice('mtls-none', MUTUAL());
    const push = pusher({ ca: pki.deviceCa.cert });
    // Small and large bodies, several times: a large body is still being sent when the device
    // resets the connection, so its alert is learnt by the diagnosis connection.
    for (const artifact of [small, large, small, large, small]) {
      const failure = asFailure(await attempt(push, sim, 'mtls-none', { artifact }));
      expect(failure).toMatchObject({ type: FailureType.TlsCertificateError, nonRetryable: true });
      expect(failure.message).toBe(
        'device mtls-none: TLS certificate error: the device requires a client certificate and the worker has none — ' +
          'set PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)',
      );
    }
    expect(sim.stats()).toMatchObject({ attempts: 0, devicesApplied: 0 });
  });

  it('retries a device that drops an untrusted client certificate without an alert (a Node device does)', async () => {
    // Node's TLS server disconnects such a client without a TLS alert, so the worker sees only a
    // closed connection — indistinguishable from a device restarting. Devices that send the
    // alert (OpenSSL- or Go-based) get TlsCertificateError, as the classification tests show.
    const sim = await httpsDevice('mtls-rogue', MUTUAL());
    const push = pusher({ ca: pki.deviceCa.cert, cert: pki.rogueClient.cert, key: pki.rogueClient.key });
    const failure = asFailure(await attempt(push, sim, 'mtls-rogue'));
    expect(failure).toMatchObject({ type: FailureType.ConnectionReset, nonRetryable: false });
    expect(sim.stats()).toMatchObject({ attempts: 0, devicesApplied: 0 });
  });

  it("sends the device's bearer token over mutual TLS, and the device sees it", async () => {
    process.env['PUSH_TLS_TEST_TOKEN'] = 'tls-test-token-3f9a';
    try {
      const sim = await httpsDevice('mtls-token', MUTUAL(), { requireToken: 'tls-test-token-3f9a' });
      const result = await attempt(pusher(identity()), sim, 'mtls-token', {
        token: 'env:PUSH_TLS_TEST_TOKEN',
      });
      expect(result).toMatchObject({ status: 200 });
      expect(sim.attemptsFor('mtls-token')).toMatchObject([{ outcome: 'applied', token: 'valid' }]);
    } finally {
      delete process.env['PUSH_TLS_TEST_TOKEN'];
    }
  });
});
