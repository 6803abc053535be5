import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSimulator } from '../../simulator/index.js';
import { contentDigest, push, statusOf } from './helpers.js';

let sim: DeviceSimulator;
let agent: Agent;
const id = 'dev-000001';

beforeEach(async () => {
  sim = await DeviceSimulator.start({ devices: 2 });
  agent = new Agent();
});

afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

describe('body verification', () => {
  it('rejects a body that does not match its content-digest with 400', async () => {
    const digest = contentDigest(Buffer.from('other bytes'));
    const result = await push(sim, agent, id, { digest });
    expect(result).toMatchObject({ status: 400 });
    expect(JSON.parse((result as { body: string }).body)).toEqual({
      status: 'rejected',
      reason: 'body does not match content-digest',
    });
    expect(sim.attemptsFor(id)[0]).toMatchObject({ outcome: 'rejected', digestOk: false, lengthOk: true });
    expect(sim.stats()).toMatchObject({ rejected: 1, applied: 0 });
  });

  it('rejects a request without content-digest with 400', async () => {
    expect(statusOf(await push(sim, agent, id, { digest: null }))).toBe(400);
    expect(sim.attemptsFor(id)[0]).toMatchObject({ outcome: 'rejected', digestOk: false });
  });

  it('finds the sha-256 member among other content-digest algorithms', async () => {
    const body = Buffer.from('payload');
    const digest = `sha-512=:AAAA:, ${contentDigest(body)}`;
    expect(statusOf(await push(sim, agent, id, { body, digest }))).toBe(200);
  });

  it('rejects a chunked body that has no content-length', async () => {
    const body = Buffer.from('streamed');
    const response = await request(sim.deviceUrl(id), {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-digest': contentDigest(body), 'idempotency-key': `r1:${id}` },
      body: Readable.from([body]),
    });
    expect(JSON.parse(await response.body.text())).toEqual({
      status: 'rejected',
      reason: 'missing content-length',
    });
    expect(response.statusCode).toBe(400);
    expect(sim.attemptsFor(id)[0]).toMatchObject({ lengthOk: false, digestOk: true, bytes: body.length });
  });

  it('verifies an empty body', async () => {
    expect(statusOf(await push(sim, agent, id, { body: Buffer.alloc(0) }))).toBe(200);
    expect(sim.attemptsFor(id)[0]).toMatchObject({ bytes: 0, digestOk: true, lengthOk: true });
  });
});

describe('idempotency', () => {
  it('counts a repeat delivery with the same idempotency key as a duplicate', async () => {
    expect(await push(sim, agent, id)).toMatchObject({ status: 200, body: '{"status":"applied"}' });
    expect(await push(sim, agent, id)).toMatchObject({ status: 200, body: '{"status":"already-applied"}' });
    expect(statusOf(await push(sim, agent, id, { key: `r2:${id}` }))).toBe(200);
    expect(sim.attemptsFor(id).map((a) => a.outcome)).toEqual(['applied', 'duplicate', 'applied']);
    expect(sim.stats()).toMatchObject({ applied: 2, duplicates: 1, devicesApplied: 1 });
  });

  it('does not count a rejected delivery as applied', async () => {
    await push(sim, agent, id, { digest: contentDigest(Buffer.from('x')) });
    expect(await push(sim, agent, id)).toMatchObject({ body: '{"status":"applied"}' });
  });

  it('applies every delivery that carries no idempotency key', async () => {
    await push(sim, agent, id, { key: null });
    await push(sim, agent, id, { key: null });
    expect(sim.stats()).toMatchObject({ applied: 2, duplicates: 0, devicesApplied: 1 });
  });
});
