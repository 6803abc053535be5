/**
 * `npm run bench:heap -- [--sizes 10000,100000]` — does the worker keep anything per device?
 * Runs raw delivery and a fast-mode rollout at each size in this process (started with
 * `--expose-gc`), and prints peak RSS and the live heap after a full GC before and after each
 * run. Peak RSS follows V8's heap sizing (it grows with the allocation rate until the old space
 * reaches its working size); the live heap after GC is what the process actually retains.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PushMode, withDefaults } from '../workflows/settings.js';
import {
  rawPush,
  runRollout,
  smallArtifact,
  startEngine,
  startSimulator,
  withPeakRss,
  writeResults,
} from './lib.js';

interface Row {
  devices: number;
  mode: 'raw' | 'fast';
  peakRssMb: number;
  liveHeapBeforeMb: number;
  liveHeapAfterMb: number;
  retainedBytesPerDevice: number;
}

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000' } } });
const sizes = values.sizes.split(',').map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:heap does)');

const MB = 2 ** 20;
/** Live heap after a full collection, in bytes. */
function liveHeap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-heap-'));
  const engine = await startEngine(dir);
  const artifact = await smallArtifact(dir);
  const rows: Row[] = [];
  try {
    for (const devices of sizes) {
      for (const mode of ['raw', 'fast'] as const) {
        const sim = await startSimulator(devices, join(dir, `fleet-${devices}-${mode}.ndjson`));
        const list = mode === 'raw' ? sim.devices() : [];
        const before = liveHeap();
        const { peakMb } = await withPeakRss(async () => {
          if (mode === 'raw') return await rawPush(list, artifact, 100);
          await runRollout(
            engine,
            sim.fleetPath,
            artifact,
            withDefaults({ mode: PushMode.Fast }),
            'bench-heap',
          );
        });
        list.length = 0;
        const after = liveHeap();
        await sim.stop();
        const row: Row = {
          devices,
          mode,
          peakRssMb: peakMb,
          liveHeapBeforeMb: before / MB,
          liveHeapAfterMb: after / MB,
          retainedBytesPerDevice: (after - before) / devices,
        };
        rows.push(row);
        console.log(
          `${String(devices).padStart(8)}  ${mode.padEnd(4)}  peak rss ${peakMb.toFixed(0)} MB  ` +
            `live heap ${row.liveHeapBeforeMb.toFixed(0)} → ${row.liveHeapAfterMb.toFixed(0)} MB  ` +
            `retained ${row.retainedBytesPerDevice.toFixed(1)} B/device`,
        );
      }
    }
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    [
      '',
      '| devices | mode | peak RSS | live heap before → after (full GC) | retained per device |',
      '| --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.devices.toLocaleString('en-US')} | ${r.mode} | ${r.peakRssMb.toFixed(0)} MB | ` +
          `${r.liveHeapBeforeMb.toFixed(0)} → ${r.liveHeapAfterMb.toFixed(0)} MB | ${r.retainedBytesPerDevice.toFixed(1)} B |`,
      ),
    ].join('\n'),
  );
  console.log(`\nwritten to ${writeResults('heap', { rows })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
