import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSimulator } from '../../simulator/index.js';
import { push, statusOf, waitFor } from './helpers.js';

let sim: DeviceSimulator;
let agent: Agent;
const id = 'dev-000001';

beforeEach(async () => {
  sim = await DeviceSimulator.start({ devices: 3 });
  agent = new Agent();
});

afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

describe('device behaviours', () => {
  it('applies a valid delivery with 200 and {"status":"applied"}', async () => {
    const result = await push(sim, agent, id);
    expect(result).toMatchObject({ status: 200, body: '{"status":"applied"}' });
    expect(sim.attemptsFor(id)).toEqual([
      expect.objectContaining({
        deviceId: id,
        key: `r1:${id}`,
        rolloutId: 'r1',
        status: 200,
        bytes: 14,
        digestOk: true,
        lengthOk: true,
        aborted: false,
        outcome: 'applied',
      }),
    ]);
  });

  it('answers the configured status with a JSON body', async () => {
    sim.setBehavior(id, { failure: { mode: 'status', status: 500 } });
    const result = await push(sim, agent, id);
    expect(result).toMatchObject({ status: 500, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((result as { body: string }).body)).toEqual({ status: 'failed', code: 500 });
    expect(sim.attemptsFor(id)[0]).toMatchObject({ status: 500, outcome: 'failed' });
  });

  it('adds a location header to a 3xx answer', async () => {
    sim.setBehavior(id, { failure: { mode: 'status', status: 301 } });
    const result = await push(sim, agent, id);
    expect(result).toMatchObject({ status: 301, headers: { location: `/devices/${id}/moved` } });
  });

  it('answers 429 or 503 with the configured retry-after header', async () => {
    sim.setBehavior(id, { failure: { mode: 'retryAfter', status: 503, retryAfterS: 7 } });
    expect(await push(sim, agent, id)).toMatchObject({ status: 503, headers: { 'retry-after': '7' } });
    sim.setBehavior(id, { failure: { mode: 'retryAfter' } });
    expect(await push(sim, agent, id)).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
  });

  it('fails only the first N attempts with firstAttempts, then applies', async () => {
    sim.setBehavior(id, { failure: { mode: 'status', status: 503, firstAttempts: 2 } });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push(statusOf(await push(sim, agent, id)));
    expect(statuses).toEqual([503, 503, 200]);
    expect(sim.attemptsFor(id).map((a) => a.outcome)).toEqual(['failed', 'failed', 'applied']);
  });

  it('counts firstAttempts per device', async () => {
    sim.setAllBehaviors({ failure: { mode: 'status', status: 503, firstAttempts: 1 } });
    expect(statusOf(await push(sim, agent, 'dev-000001'))).toBe(503);
    expect(statusOf(await push(sim, agent, 'dev-000002'))).toBe(503);
    expect(statusOf(await push(sim, agent, 'dev-000001'))).toBe(200);
  });

  it('never answers a hanging device and records the attempt as aborted when the client gives up', async () => {
    sim.setBehavior(id, { failure: { mode: 'hang' } });
    const result = await push(sim, agent, id, { timeoutMs: 200 });
    expect(result).toHaveProperty('error');
    await waitFor(() => sim.attemptsFor(id).length === 1);
    expect(sim.attemptsFor(id)[0]).toMatchObject({
      status: null,
      aborted: true,
      outcome: 'aborted',
      bytes: 14,
    });
    expect(sim.stats()).toMatchObject({ aborted: 1, inFlight: 0 });
  });

  it('resets the connection after reading the body', async () => {
    sim.setBehavior(id, { failure: { mode: 'reset' } });
    const result = await push(sim, agent, id);
    expect(result).toMatchObject({ error: { code: 'ECONNRESET' } });
    expect(sim.attemptsFor(id)[0]).toMatchObject({
      status: null,
      outcome: 'failed',
      bytes: 14,
      digestOk: true,
    });
  });

  it('answers bytes that are not HTTP for a malformed device', async () => {
    sim.setBehavior(id, { failure: { mode: 'malformed' } });
    const result = await push(sim, agent, id);
    expect(result).toHaveProperty('error');
    expect(sim.attemptsFor(id)[0]).toMatchObject({ status: null, outcome: 'failed', aborted: false });
  });

  it('drops the connection halfway through the body with closeMidBody', async () => {
    sim.setBehavior(id, { failure: { mode: 'closeMidBody' } });
    const body = Buffer.alloc(1024 * 1024, 7);
    const result = await push(sim, agent, id, { body });
    expect(result).toHaveProperty('error');
    await waitFor(() => sim.attemptsFor(id).length === 1);
    expect(sim.attemptsFor(id)[0]).toMatchObject({ status: null, outcome: 'failed', bytes: body.length / 2 });
  });

  it('takes in at least one byte before closeMidBody drops a one-byte body', async () => {
    sim.setBehavior(id, { failure: { mode: 'closeMidBody' } });
    expect(await push(sim, agent, id, { body: Buffer.from('x') })).toHaveProperty('error');
    await waitFor(() => sim.attemptsFor(id).length === 1);
    expect(sim.attemptsFor(id)[0]).toMatchObject({ bytes: 1, outcome: 'failed' });
  });

  it('applies then loses the answer, and answers the retry as already applied', async () => {
    sim.setBehavior(id, { failure: { mode: 'applyThenReset' } });
    expect(await push(sim, agent, id)).toMatchObject({ error: { code: 'ECONNRESET' } });
    expect(await push(sim, agent, id)).toMatchObject({ status: 200, body: '{"status":"already-applied"}' });
    expect(sim.attemptsFor(id).map((a) => [a.outcome, a.status])).toEqual([
      ['applied', null],
      ['duplicate', 200],
    ]);
    expect(sim.stats()).toMatchObject({ applied: 1, duplicates: 1, devicesApplied: 1 });
  });

  it('waits the configured latency after reading the body', async () => {
    sim.setBehavior(id, { latencyMs: [100, 120] });
    const started = Date.now();
    expect(statusOf(await push(sim, agent, id))).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('fails attempts with the given probability, the same way for the same seed', async () => {
    const outcomes = async (seed: number): Promise<string> => {
      const local = await DeviceSimulator.start({
        devices: 1,
        seed,
        behavior: () => ({ failure: { mode: 'status', status: 500, probability: 0.5 } }),
      });
      let statuses = '';
      for (let i = 0; i < 20; i += 1)
        statuses += statusOf(await push(local, agent, 'dev-000001')) === 500 ? 'F' : '.';
      await local.close();
      return statuses;
    };
    const first = await outcomes(42);
    expect(first).toMatch(/F/);
    expect(first).toMatch(/\./);
    expect(await outcomes(42)).toBe(first);
  });

  it('rejects an invalid behaviour with a message naming the field', () => {
    expect(() => sim.setBehavior(id, { failure: { mode: 'status', probability: 2 } })).toThrow(
      /behavior of device dev-000001: probability must be in 0\.\.1/,
    );
    expect(() => sim.setBehavior('nope', {})).toThrow(/no device "nope"/);
  });
});
