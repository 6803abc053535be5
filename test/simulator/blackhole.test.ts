import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSimulator } from '../../simulator/index.js';
import { push, statusOf, waitFor } from './helpers.js';

let sim: DeviceSimulator;
let agent: Agent;
const id = 'dev-000001';

beforeEach(async () => {
  sim = await DeviceSimulator.start({ devices: 1 });
  agent = new Agent({ connections: 1 });
});

afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

describe('blackhole', () => {
  it('accepts connections but never answers while on, and drops them when the client gives up', async () => {
    sim.setBlackhole(true);
    expect(await push(sim, agent, id, { timeoutMs: 200 })).toHaveProperty('error');
    expect(sim.stats()).toMatchObject({ attempts: 0, inFlight: 0, connections: 1 });
    await waitFor(() => sim.stats().openConnections === 0);
    sim.setBlackhole(false);
    expect(statusOf(await push(sim, agent, id))).toBe(200);
  });

  it('also ignores new requests on a connection kept alive from before', async () => {
    expect(statusOf(await push(sim, agent, id))).toBe(200);
    sim.setBlackhole(true);
    expect(await push(sim, agent, id, { timeoutMs: 200 })).toHaveProperty('error');
    expect(sim.stats()).toMatchObject({ attempts: 1, connections: 1 });
  });

  it('toggles over HTTP, the control path staying reachable', async () => {
    const toggle = async (on: string): Promise<number> =>
      (await request(`${sim.url}/_blackhole?on=${on}`, { method: 'POST', dispatcher: agent })).statusCode;
    expect(await toggle('1')).toBe(200);
    expect(await push(sim, agent, id, { timeoutMs: 150 })).toHaveProperty('error');
    expect(await toggle('0')).toBe(200);
    expect(statusOf(await push(sim, agent, id))).toBe(200);
    expect(await toggle('maybe')).toBe(400);
  });
});
