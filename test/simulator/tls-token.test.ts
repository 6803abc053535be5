import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceSimulator, SimulatorError } from '../../simulator/index.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { push, statusOf, waitFor } from './helpers.js';

let pki: TestPki;
const sims: DeviceSimulator[] = [];
const agents: Agent[] = [];

beforeAll(() => {
  pki = createTestPki();
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.destroy()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

afterAll(() => pki.close());

async function start(options: Omit<Parameters<typeof DeviceSimulator.start>[0], 'devices'>) {
  const sim = await DeviceSimulator.start({ devices: ['d1'], ...options });
  sims.push(sim);
  return sim;
}

function agent(options: Agent.Options = {}): Agent {
  const a = new Agent(options);
  agents.push(a);
  return a;
}

describe('simulator over HTTPS', () => {
  it('serves its devices at https:// URLs with its certificate', async () => {
    const sim = await start({ tls: { key: pki.device.key, cert: pki.device.cert } });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.deviceUrl('d1')).toBe(`${sim.url}/devices/d1/update`);
    const trusting = agent({ connect: { ca: pki.deviceCa.cert } });
    expect(statusOf(await push(sim, trusting, 'd1'))).toBe(200);
    expect(sim.attemptsFor('d1')).toMatchObject([{ outcome: 'applied', status: 200 }]);
  });

  it('fails the handshake of a client that does not trust its CA, recording no attempt', async () => {
    const sim = await start({ tls: { key: pki.device.key, cert: pki.device.cert } });
    const result = await push(sim, agent(), 'd1');
    expect(result).toMatchObject({ error: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
    await waitFor(() => sim.stats().tlsFailures === 1);
    expect(sim.stats().attempts).toBe(0);
  });

  it('with requestCert, serves a client whose certificate its CA signed and refuses one without', async () => {
    const tls = { key: pki.device.key, cert: pki.device.cert, ca: pki.clientCa.cert, requestCert: true };
    const sim = await start({ tls });
    const withCert = agent({
      connect: { ca: pki.deviceCa.cert, cert: pki.client.cert, key: pki.client.key },
    });
    expect(statusOf(await push(sim, withCert, 'd1'))).toBe(200);
    const without = await push(sim, agent({ connect: { ca: pki.deviceCa.cert } }), 'd1');
    expect(without).toHaveProperty('error');
    await waitFor(() => sim.stats().tlsFailures === 1);
    expect(sim.stats()).toMatchObject({ attempts: 1, applied: 1 });
  });

  it('refuses requestCert without a client CA, and a missing key or certificate', async () => {
    await expect(
      start({ tls: { key: pki.device.key, cert: pki.device.cert, requestCert: true } }),
    ).rejects.toThrow(/tls.requestCert needs tls.ca/);
    await expect(start({ tls: { key: '', cert: pki.device.cert } })).rejects.toThrow(SimulatorError);
    await expect(start({ tls: { key: pki.device.key, cert: 'not a certificate' } })).rejects.toThrow(
      /tls: cannot use the key and certificate/,
    );
  });
});

describe('a device that requires a bearer token', () => {
  const token = 's3cret-token';

  it('applies a push carrying the token and records it valid, never the token itself', async () => {
    const sim = await start({ behavior: () => ({ requireToken: token }) });
    const result = await push(sim, agent(), 'd1', { headers: { authorization: `Bearer ${token}` } });
    expect(statusOf(result)).toBe(200);
    expect(sim.attemptsFor('d1')).toMatchObject([{ outcome: 'applied', token: 'valid' }]);
    expect(JSON.stringify(sim.attempts)).not.toContain(token);
  });

  it.each([
    ['missing', {}],
    ['wrong', { authorization: 'Bearer nope' }],
  ] as const)('answers 401 to a %s token, before any failure behaviour', async (check, headers) => {
    const sim = await start({
      behavior: () => ({ requireToken: token, failure: { mode: 'closeMidBody' } }),
    });
    const result = await push(sim, agent(), 'd1', { headers });
    expect(result).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer' } });
    expect(sim.attemptsFor('d1')).toMatchObject([{ outcome: 'rejected', status: 401, token: check }]);
    expect(sim.stats().devicesApplied).toBe(0);
  });

  it('guards its status endpoint with the same token', async () => {
    const sim = await start({ behavior: () => ({ requireToken: token }) });
    const url = sim.statusUrl('d1');
    const a = agent();
    const refused = await request(url, { dispatcher: a });
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();
    const allowed = await request(url, { dispatcher: a, headers: { authorization: `Bearer ${token}` } });
    expect(allowed.statusCode).toBe(200);
    await allowed.body.dump();
  });

  it('records no token check for a device that requires none', async () => {
    const sim = await start({});
    await push(sim, agent(), 'd1');
    expect(sim.attemptsFor('d1')).toMatchObject([{ token: null }]);
  });

  it('refuses a requireToken that cannot be a bearer token', async () => {
    await expect(start({ behavior: () => ({ requireToken: 'has space' }) })).rejects.toThrow(
      /requireToken must be a non-empty string of visible ASCII/,
    );
  });
});
