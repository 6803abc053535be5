import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSimulator, type DeviceStatusReport } from '../../simulator/index.js';
import { contentDigest, push, statusOf } from './helpers.js';

let sim: DeviceSimulator;
let agent: Agent;
const id = 'dev-000001';
const bodyA = Buffer.from('version A');
const bodyB = Buffer.from('version B');

beforeEach(async () => {
  sim = await DeviceSimulator.start({ devices: 3 });
  agent = new Agent();
});

afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

/** GET a device's status endpoint; the parsed body with the HTTP status. */
async function status(device = id): Promise<DeviceStatusReport> {
  const response = await request(sim.statusUrl(device), { dispatcher: agent });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('application/json');
  return (await response.body.json()) as DeviceStatusReport;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('device status endpoint', () => {
  it('serves GET /devices/<id>/status, reporting no digest before any delivery', async () => {
    expect(sim.statusUrl(id)).toBe(`${sim.url}/devices/${id}/status`);
    expect(sim.statusUrlTemplate).toBe(`${sim.url}/devices/{id}/status`);
    expect(await status()).toEqual({ id, digest: null, applied: 0 });
  });

  it('reports the content-digest of the last applied body and how many it applied', async () => {
    expect(statusOf(await push(sim, agent, id, { body: bodyA, key: 'r1:a' }))).toBe(200);
    expect(await status()).toEqual({ id, digest: contentDigest(bodyA), applied: 1 });
    expect(statusOf(await push(sim, agent, id, { body: bodyB, key: 'r2:a' }))).toBe(200);
    expect(await status()).toEqual({ id, digest: contentDigest(bodyB), applied: 2 });
  });

  it('does not count a duplicate delivery as applied again', async () => {
    await push(sim, agent, id, { body: bodyA });
    await push(sim, agent, id, { body: bodyA });
    expect(await status()).toEqual({ id, digest: contentDigest(bodyA), applied: 1 });
  });

  it('reports nothing for a body it rejected or never answered', async () => {
    await push(sim, agent, id, { body: bodyA, digest: contentDigest(bodyB) });
    sim.setBehavior('dev-000002', { failure: { mode: 'status', status: 500 } });
    await push(sim, agent, 'dev-000002', { body: bodyA });
    expect(await status()).toMatchObject({ digest: null, applied: 0 });
    expect(await status('dev-000002')).toMatchObject({ digest: null, applied: 0 });
  });

  it('reports a body applied with its answer lost (applyThenReset)', async () => {
    sim.setBehavior(id, { failure: { mode: 'applyThenReset' } });
    expect('error' in (await push(sim, agent, id, { body: bodyA }))).toBe(true);
    expect(await status()).toEqual({ id, digest: contentDigest(bodyA), applied: 1 });
  });

  it('shows an applied body only confirm.delayMs after applying it', async () => {
    sim.setBehavior(id, { confirm: { delayMs: 250 } });
    await push(sim, agent, id, { body: bodyA });
    const appliedAt = Date.now();
    expect(await status()).toEqual({ id, digest: null, applied: 1 });
    await sleep(250 - (Date.now() - appliedAt) + 20);
    expect(await status()).toEqual({ id, digest: contentDigest(bodyA), applied: 1 });
  });

  it('keeps reporting the previous digest with confirm.never', async () => {
    await push(sim, agent, id, { body: bodyA, key: 'r1:a' });
    sim.setBehavior(id, { confirm: { never: true } });
    await push(sim, agent, id, { body: bodyB, key: 'r2:a' });
    await sleep(50);
    expect(await status()).toEqual({ id, digest: contentDigest(bodyA), applied: 2 });
    sim.setBehavior('dev-000002', { confirm: { never: true } });
    await push(sim, agent, 'dev-000002', { body: bodyB });
    expect(await status('dev-000002')).toEqual({ id: 'dev-000002', digest: null, applied: 1 });
  });

  it('counts status polls apart from push attempts', async () => {
    await push(sim, agent, id);
    for (let i = 0; i < 3; i += 1) await status();
    expect(sim.stats()).toMatchObject({ attempts: 1, applied: 1, statusPolls: 3, inFlight: 0 });
    expect(sim.attemptsFor(id)).toHaveLength(1);
  });

  it('answers 405 to anything but GET, and 404 for an unknown device', async () => {
    const post = await request(sim.statusUrl(id), { method: 'POST', dispatcher: agent, body: 'x' });
    expect(post.statusCode).toBe(405);
    expect(post.headers['allow']).toBe('GET');
    await post.body.dump();
    const unknown = await request(sim.statusUrl('dev-999999'), { dispatcher: agent });
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
    expect(sim.stats()).toMatchObject({ attempts: 0, statusPolls: 0 });
  });

  it('forgets what devices report on reset', async () => {
    await push(sim, agent, id, { body: bodyA });
    await status();
    sim.reset();
    expect(sim.stats().statusPolls).toBe(0);
    expect(await status()).toEqual({ id, digest: null, applied: 0 });
  });

  it('leaves status polls unanswered while blackholed', async () => {
    sim.setBlackhole(true);
    await expect(
      request(sim.statusUrl(id), { dispatcher: agent, signal: AbortSignal.timeout(150) }),
    ).rejects.toThrow();
    expect(sim.stats().statusPolls).toBe(0);
  });

  it('rejects an invalid confirm option with a message naming the field', () => {
    expect(() => sim.setBehavior(id, { confirm: { delayMs: -1 } })).toThrow(
      /behavior of device dev-000001: confirm\.delayMs must be a number >= 0, got -1/,
    );
    // @ts-expect-error: a behaviour from untyped input
    expect(() => sim.setBehavior(id, { confirm: { never: 'yes' } })).toThrow(
      /confirm\.never must be true or false/,
    );
  });
});
