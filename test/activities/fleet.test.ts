import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createDispatcher } from '../../activities/http.js';
import { sha256Of } from '../../shared/digest.js';
import { FailureType } from '../../shared/failure-types.js';
import { FleetError, sortByPriority } from '../../shared/fleet-parse.js';
import {
  FleetChangedError,
  freezeFleet,
  indexPathOf,
  readFleetFile,
  readFleetSlice,
} from '../../shared/fleet-store.js';
import type { DeviceTarget, FleetSource } from '../../shared/types.js';

const COUNT = 10_000;
let dir: string;
let devices: DeviceTarget[];
let source: FleetSource;

/** A fleet file; returns its source (path + digest) as the client would send it. */
async function fleetFile(name: string, text: string): Promise<FleetSource> {
  const path = join(dir, name);
  await writeFile(path, text);
  return { path, sha256: sha256Of(text) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-test-'));
  devices = Array.from({ length: COUNT }, (_, i) => {
    const device: DeviceTarget = {
      id: `dev-${i}`,
      url: `http://10.0.${i % 250}.1/update`,
      priority: (i * 7) % 5,
    };
    if (i % 3 === 0) device.group = `g-${i % 4}`;
    if (i % 100 === 0) device.headers = { 'x-site': `s${i}` };
    if (i % 7 === 0) device.statusUrl = `http://10.0.${i % 250}.1/status`;
    return device;
  });
  source = await fleetFile('fleet.ndjson', devices.map((d) => JSON.stringify(d)).join('\n') + '\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('freezeFleet and readFleetSlice', () => {
  it('freezes 10,000 devices sorted by priority and reads any slice back', async () => {
    const data = join(dir, 'data-1');
    const frozen = await freezeFleet(source, data);
    const sorted = sortByPriority(devices);
    expect(frozen.count).toBe(COUNT);
    expect(frozen.path).toBe(join(data, 'fleets', `${frozen.sha256}.ndjson`));
    expect(sha256Of(await readFile(frozen.path))).toBe(frozen.sha256);
    expect((await stat(indexPathOf(frozen.path))).size).toBe((COUNT + 1) * 8);
    for (const [start, count] of [
      [0, 500],
      [4321, 500],
      [COUNT - 500, 500],
      [COUNT - 3, 500],
      [0, COUNT],
    ] as const) {
      expect(await readFleetSlice(frozen, start, count)).toEqual(sorted.slice(start, start + count));
    }
    expect(await readFleetSlice(frozen, COUNT, 10)).toEqual([]);
    expect(await readFleetSlice(frozen, 5, 0)).toEqual([]);
    await expect(readFleetSlice(frozen, -1, 10)).rejects.toThrow(RangeError);
    await expect(readFleetSlice(frozen, 1.5, 10)).rejects.toThrow(RangeError);
  });

  it('keeps file order among devices of equal priority', async () => {
    const frozen = await freezeFleet(source, join(dir, 'data-1'));
    const slice = await readFleetSlice(frozen, 0, COUNT);
    const top = slice.filter((d) => d.priority === 4).map((d) => Number(d.id.slice(4)));
    expect(top).toEqual([...top].sort((a, b) => a - b));
    expect(slice[0]?.priority).toBe(4);
    expect(slice.at(-1)?.priority).toBe(0);
  });

  it('counts the distinct priorities, so a rollout knows whether batches may overlap', async () => {
    const frozen = await freezeFleet(source, join(dir, 'data-1'));
    expect(frozen.priorityLevels).toBe(new Set(devices.map((d) => d.priority ?? 0)).size);
    const flat = await fleetFile(
      'flat.ndjson',
      '{"id":"a","url":"http://10.0.0.1/"}\n{"id":"b","url":"http://10.0.0.2/"}\n',
    );
    expect((await freezeFleet(flat, join(dir, 'data-flat'))).priorityLevels).toBe(1);
  });

  it('reuses an identical frozen copy instead of writing another', async () => {
    const data = join(dir, 'data-2');
    const first = await freezeFleet(source, data);
    const written = (await stat(first.path)).mtimeMs;
    const again = await freezeFleet(source, data);
    expect(again).toEqual(first);
    expect((await stat(again.path)).mtimeMs).toBe(written);
    // The same devices written as a JSON array freeze to the very same copy.
    const array = await fleetFile('fleet.json', JSON.stringify(devices, null, 2));
    expect(await freezeFleet(array, data)).toEqual(first);
    expect((await readdir(join(data, 'fleets'))).sort()).toEqual([
      `${first.sha256}.idx`,
      `${first.sha256}.ndjson`,
    ]);
  });

  it('refuses a file that changed since it was validated', async () => {
    const changing = await fleetFile('changing.ndjson', '{"id":"a","url":"http://x"}\n');
    await appendFile(changing.path, '{"id":"b","url":"http://y"}\n');
    const err: unknown = await freezeFleet(changing, join(dir, 'data-3')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetChangedError);
    expect(err).toMatchObject({ code: 'ERR_FLEET_CHANGED' });
    expect((err as Error).message).toContain('changed since it was validated');
  });

  it('reads, hashes and parses a fleet file in one pass', async () => {
    const info = await readFleetFile(source.path);
    expect(info.sha256).toBe(source.sha256);
    expect(info.devices).toEqual(devices);
  });

  it('throws FleetError for an invalid file', async () => {
    const bad = await fleetFile('bad.csv', 'id,url\na,ftp://x\n');
    await expect(freezeFleet(bad, join(dir, 'data-3'))).rejects.toThrow(FleetError);
  });
});

describe('fleet activities', () => {
  const dispatcher = createDispatcher({
    connectionsPerOrigin: 1,
    keepAliveTimeoutMs: 1000,
    connectTimeoutMs: 1000,
  });
  const activities = () => createActivities({ dispatcher, dataDir: join(dir, 'data-4') });
  afterAll(() => dispatcher.close());

  it('freeze and load a fleet', async () => {
    const { freezeFleet: freeze, loadDevices } = activities();
    const frozen = await freeze(source);
    expect(await loadDevices(frozen, 100, 3)).toEqual(sortByPriority(devices).slice(100, 103));
  });

  it.each([
    [
      'an invalid file',
      'bad.ndjson',
      '{"id":"a","url":"ftp://x"}\n{"id":"a","url":"http://x","x":1}\n',
      false,
    ],
    ['a changed file', 'changed.ndjson', '{"id":"a","url":"http://x"}\n', true],
  ])(
    'fail with non-retryable InvalidFleet for %s, with every problem in the message',
    async (_n, name, text, edit) => {
      const fleet = await fleetFile(name, text);
      if (edit) await appendFile(fleet.path, '\n');
      const err: unknown = await activities()
        .freezeFleet(fleet)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: FailureType.InvalidFleet, nonRetryable: true });
      const message = (err as Error).message;
      if (edit) expect(message).toContain('changed since it was validated');
      else {
        expect(message).toContain(`${fleet.path}:1: "url" must be http or https`);
        expect(message).toContain(`${fleet.path}:2: unknown field "x"`);
        expect(message).toContain(`${fleet.path}:2: duplicate id "a" (first on line 1)`);
      }
    },
  );

  it('fail to load a slice of a damaged frozen copy with non-retryable InvalidFleet', async () => {
    const { freezeFleet: freeze, loadDevices } = activities();
    const frozen = await freeze(await fleetFile('small.ndjson', '{"id":"a","url":"http://x"}\n'));
    await writeFile(frozen.path, '');
    const err: unknown = await loadDevices(frozen, 0, 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: FailureType.InvalidFleet, nonRetryable: true });
    expect((err as Error).message).toContain('is truncated');
  });

  it('fail with non-retryable InvalidFleet for a missing file', async () => {
    const err: unknown = await activities()
      .freezeFleet({ path: join(dir, 'nope.ndjson'), sha256: sha256Of('') })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: FailureType.InvalidFleet, nonRetryable: true });
    expect((err as Error).message).toContain('(ENOENT)');
  });
});
