import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSimulator, SimulatorError } from '../../simulator/index.js';
import { push, statusOf, waitFor } from './helpers.js';

let sim: DeviceSimulator;
let agent: Agent;

beforeEach(async () => {
  sim = await DeviceSimulator.start({ devices: 10 });
  agent = new Agent();
});

afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

async function call(method: 'GET' | 'POST', path: string): Promise<{ status: number; text: string }> {
  const response = await request(`${sim.url}${path}`, { method, dispatcher: agent });
  return { status: response.statusCode, text: await response.body.text() };
}

describe('simulator server', () => {
  it('generates zero-padded ids and device URLs', () => {
    expect(sim.ids.slice(0, 2)).toEqual(['dev-000001', 'dev-000002']);
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.deviceUrl('dev-000002')).toBe(`${sim.url}/devices/dev-000002/update`);
  });

  it('plays explicit ids, URL-encoding them in device URLs', async () => {
    const named = await DeviceSimulator.start({ devices: ['pump/7', 'valve 2'] });
    try {
      expect(named.deviceUrl('pump/7')).toBe(`${named.url}/devices/pump%2F7/update`);
      expect(statusOf(await push(named, agent, 'pump/7'))).toBe(200);
      expect(named.attemptsFor('pump/7')).toHaveLength(1);
    } finally {
      await named.close();
    }
  });

  it('answers 404 for an unknown path or device', async () => {
    expect((await call('POST', '/devices/dev-999999/update')).status).toBe(404);
    expect((await call('GET', '/elsewhere')).status).toBe(404);
    expect((await call('GET', '/_unknown')).status).toBe(404);
    expect(sim.stats().attempts).toBe(0);
  });

  it('tracks the peak of concurrent requests and of open connections', async () => {
    sim.setAllBehaviors({ latencyMs: 150 });
    const results = await Promise.all(sim.ids.slice(0, 8).map((id) => push(sim, agent, id)));
    expect(results.map(statusOf)).toEqual(Array<number>(8).fill(200));
    expect(sim.stats()).toMatchObject({
      attempts: 8,
      applied: 8,
      devicesApplied: 8,
      maxConcurrent: 8,
      inFlight: 0,
      connections: 8,
      maxOpenConnections: 8,
      bytesReceived: 8 * 14,
      byStatus: { '200': 8 },
    });
  });

  it('reports every open connection closed once the client closes its pool', async () => {
    await push(sim, agent, 'dev-000001');
    expect(sim.stats().openConnections).toBe(1);
    await agent.close();
    await waitFor(() => sim.stats().openConnections === 0);
  });

  it('reports stats, attempts and resets over HTTP', async () => {
    await push(sim, agent, 'dev-000001');
    const stats = await call('GET', '/_stats');
    expect(JSON.parse(stats.text)).toMatchObject({ devices: 10, attempts: 1, applied: 1 });
    const attempts = await call('GET', '/_attempts');
    expect(
      attempts.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([expect.objectContaining({ deviceId: 'dev-000001', outcome: 'applied' })]);
    expect((await call('GET', '/_attempts?device=dev-000002')).text).toBe('');
    expect((await call('POST', '/_reset')).status).toBe(200);
    expect(sim.stats()).toMatchObject({ attempts: 0, applied: 0, firstAttemptAt: null });
  });

  it('forgets applied keys and attempt counts on reset but keeps behaviours', async () => {
    sim.setBehavior('dev-000001', { failure: { mode: 'status', status: 503, firstAttempts: 1 } });
    expect(statusOf(await push(sim, agent, 'dev-000001'))).toBe(503);
    expect(statusOf(await push(sim, agent, 'dev-000001'))).toBe(200);
    sim.reset();
    expect(sim.attempts).toHaveLength(0);
    expect(statusOf(await push(sim, agent, 'dev-000001'))).toBe(503);
    expect(await push(sim, agent, 'dev-000001')).toMatchObject({ body: '{"status":"applied"}' });
  });

  it('records first and last attempt times', async () => {
    const before = Date.now();
    await push(sim, agent, 'dev-000001');
    await push(sim, agent, 'dev-000002');
    const { firstAttemptAt, lastAttemptAt } = sim.stats();
    expect(firstAttemptAt).toBeGreaterThanOrEqual(before);
    expect(lastAttemptAt).toBeGreaterThanOrEqual(firstAttemptAt ?? Infinity);
  });

  it('rejects bad options before listening', async () => {
    await expect(DeviceSimulator.start({ devices: -1 })).rejects.toThrow(SimulatorError);
    await expect(DeviceSimulator.start({ devices: ['a', 'a'] })).rejects.toThrow(/unique/);
    await expect(
      DeviceSimulator.start({ devices: 1, behavior: () => ({ latencyMs: [5, 1] }) }),
    ).rejects.toThrow(/behavior of device dev-000001: latencyMs range/);
  });

  it('closes promptly while a hanging request is pending', async () => {
    sim.setBehavior('dev-000001', { failure: { mode: 'hang' } });
    const pending = push(sim, agent, 'dev-000001');
    await waitFor(() => sim.stats().inFlight === 1);
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await pending).toHaveProperty('error');
    expect(sim.attemptsFor('dev-000001')[0]).toMatchObject({ outcome: 'aborted' });
  });
});
