import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../shared/fleet-parse.js';
import { DeviceSimulator } from '../../simulator/index.js';

let sim: DeviceSimulator;
let dir: string;

beforeAll(async () => {
  sim = await DeviceSimulator.start({ devices: 3 });
  dir = await mkdtemp(join(tmpdir(), 'sim-fleet-'));
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const priority = (_id: string, index: number): number | undefined => (index === 0 ? 10 : undefined);
const group = (_id: string, index: number): string | undefined => (index < 2 ? 'canary' : undefined);

describe('writeFleet', () => {
  it('writes NDJSON by default, leaving out undefined fields', async () => {
    const path = join(dir, 'fleet.ndjson');
    await sim.writeFleet(path, { priority, group });
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { id: 'dev-000001', url: sim.deviceUrl('dev-000001'), priority: 10, group: 'canary' },
      { id: 'dev-000002', url: sim.deviceUrl('dev-000002'), group: 'canary' },
      { id: 'dev-000003', url: sim.deviceUrl('dev-000003') },
    ]);
  });

  it('writes a JSON array', async () => {
    const path = join(dir, 'fleet.json');
    await sim.writeFleet(path, { format: 'json', priority });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([
      { id: 'dev-000001', url: sim.deviceUrl('dev-000001'), priority: 10 },
      { id: 'dev-000002', url: sim.deviceUrl('dev-000002') },
      { id: 'dev-000003', url: sim.deviceUrl('dev-000003') },
    ]);
  });

  it('writes CSV with an id,url,priority,group header and empty cells for undefined fields', async () => {
    const path = join(dir, 'fleet.csv');
    await sim.writeFleet(path, {
      format: 'csv',
      priority,
      group: (_id, i) => (i === 1 ? 'a,"b"' : undefined),
    });
    expect((await readFile(path, 'utf8')).split('\n')).toEqual([
      'id,url,priority,group',
      `dev-000001,${sim.deviceUrl('dev-000001')},10,`,
      `dev-000002,${sim.deviceUrl('dev-000002')},,"a,""b"""`,
      `dev-000003,${sim.deviceUrl('dev-000003')},,`,
      '',
    ]);
  });

  it("writes each chosen device's statusUrl, in every format", async () => {
    const statusUrl = (_id: string, index: number): boolean => index !== 1;
    const ndjson = join(dir, 'status.ndjson');
    await sim.writeFleet(ndjson, { statusUrl });
    const lines = (await readFile(ndjson, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { id: 'dev-000001', url: sim.deviceUrl('dev-000001'), statusUrl: sim.statusUrl('dev-000001') },
      { id: 'dev-000002', url: sim.deviceUrl('dev-000002') },
      { id: 'dev-000003', url: sim.deviceUrl('dev-000003'), statusUrl: sim.statusUrl('dev-000003') },
    ]);
    const json = join(dir, 'status.json');
    await sim.writeFleet(json, { format: 'json', statusUrl: true });
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject([
      { statusUrl: `${sim.url}/devices/dev-000001/status` },
      { statusUrl: `${sim.url}/devices/dev-000002/status` },
      { statusUrl: `${sim.url}/devices/dev-000003/status` },
    ]);
    const csv = join(dir, 'status.csv');
    await sim.writeFleet(csv, { format: 'csv', statusUrl });
    expect((await readFile(csv, 'utf8')).split('\n').slice(0, 3)).toEqual([
      'id,url,priority,group,statusUrl',
      `dev-000001,${sim.deviceUrl('dev-000001')},,,${sim.statusUrl('dev-000001')}`,
      `dev-000002,${sim.deviceUrl('dev-000002')},,,`,
    ]);
  });

  it("writes each chosen device's token reference, in every format the engine parses", async () => {
    const token = (_id: string, index: number): string | undefined =>
      index === 1 ? undefined : 'env:DEVICE_TOKEN';
    for (const format of ['ndjson', 'json', 'csv'] as const) {
      const path = join(dir, `token.${format}`);
      await sim.writeFleet(path, { format, token });
      const devices = parseFleet(await readFile(path, 'utf8'), path);
      expect(devices.map((d) => d.token)).toEqual(['env:DEVICE_TOKEN', undefined, 'env:DEVICE_TOKEN']);
    }
    expect((await readFile(join(dir, 'token.csv'), 'utf8')).split('\n')[0]).toBe(
      'id,url,priority,group,token',
    );
  });

  it('writes fleets the engine parses, statusUrl included', async () => {
    for (const format of ['ndjson', 'json', 'csv'] as const) {
      const path = join(dir, `parsed.${format}`);
      await sim.writeFleet(path, { format, priority, statusUrl: true });
      const devices = parseFleet(await readFile(path, 'utf8'), path);
      expect(devices[0]).toEqual({
        id: 'dev-000001',
        url: sim.deviceUrl('dev-000001'),
        priority: 10,
        statusUrl: sim.statusUrl('dev-000001'),
      });
      expect(devices.map((d) => d.statusUrl)).toEqual(sim.ids.map((id) => sim.statusUrl(id)));
    }
  });

  it('writes an empty JSON array for an empty fleet', async () => {
    const empty = await DeviceSimulator.start({ devices: 0 });
    const path = join(dir, 'empty.json');
    await empty.writeFleet(path, { format: 'json' });
    await empty.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([]);
  });

  it('writes a large fleet in chunks', async () => {
    const large = await DeviceSimulator.start({ devices: 2500 });
    const path = join(dir, 'large.ndjson');
    await large.writeFleet(path);
    await large.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2500);
    expect(JSON.parse(lines[2499] ?? '')).toMatchObject({ id: 'dev-002500' });
  });

  it('rejects an unknown format', async () => {
    // @ts-expect-error: a format from untyped input
    await expect(sim.writeFleet(join(dir, 'x'), { format: 'xml' })).rejects.toThrow(/use ndjson, json, csv/);
  });
});
