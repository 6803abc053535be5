/**
 * `npm run bench:payloads` — large and empty artifacts: 100 devices × 10 MB at once, one
 * 100 MB push, 100 × 0 bytes, through the project's push code (raw) and, for 100 × 10 MB, a
 * full fast-mode rollout. Prints MB/s and the peak RSS of this process: streaming means RSS
 * stays far below payload × concurrency (1 GB for 100 × 10 MB).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256File } from '../shared/digest.js';
import type { ArtifactRef } from '../shared/types.js';
import type { RolloutReport } from '../workflows/definitions.js';
import { PushMode, withDefaults } from '../workflows/settings.js';
import { rawPush, startEngine, startSimulator, withPeakRss, writeResults } from './lib.js';

interface Case {
  name: string;
  devices: number;
  bytes: number;
  engine: boolean;
}

const CASES: Case[] = [
  { name: '100 x 10 MB, raw', devices: 100, bytes: 10 * 2 ** 20, engine: false },
  { name: '1 x 100 MB, raw', devices: 1, bytes: 100 * 2 ** 20, engine: false },
  { name: '100 x 0 B, raw', devices: 100, bytes: 0, engine: false },
  { name: '100 x 10 MB, engine (fast)', devices: 100, bytes: 10 * 2 ** 20, engine: true },
];

async function artifactOf(dir: string, bytes: number): Promise<ArtifactRef> {
  const path = join(dir, `artifact-${bytes}.bin`);
  writeFileSync(path, randomBytes(bytes));
  return { path, sha256: await sha256File(path, 'base64'), size: bytes };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-payloads-'));
  const engine = await startEngine(dir);
  const rows = [];
  try {
    for (const c of CASES) {
      const artifact = await artifactOf(dir, c.bytes);
      const sim = await startSimulator(c.devices, join(dir, `fleet-${rows.length}.ndjson`));
      const started = performance.now();
      const { peakMb } = await withPeakRss(async () => {
        if (!c.engine) return await rawPush(sim.devices(), artifact, c.devices);
        const fleet = sim.fleetPath;
        const handle = await engine.client.workflow.start('rolloutWorkflow', {
          taskQueue: engine.taskQueue,
          workflowId: `bench-payloads-${Date.now()}`,
          args: [
            {
              fleet: { path: fleet, sha256: await sha256File(fleet, 'hex') },
              artifact,
              settings: withDefaults({ mode: PushMode.Fast }),
            },
          ],
        });
        const report = (await handle.result()) as RolloutReport;
        if (report.succeeded !== c.devices)
          throw new Error(`${c.name}: ${report.succeeded} of ${c.devices} succeeded`);
      });
      const seconds = (performance.now() - started) / 1000;
      const stats = await sim.stats();
      await sim.stop();
      if (stats.devicesApplied !== c.devices)
        throw new Error(`${c.name}: ${stats.devicesApplied} devices applied`);
      const totalMb = (c.devices * c.bytes) / 2 ** 20;
      const row = {
        case: c.name,
        totalMb,
        seconds,
        mbPerSecond: totalMb / seconds,
        peakRssMb: peakMb,
        devicesApplied: stats.devicesApplied,
      };
      rows.push(row);
      console.log(
        `${c.name.padEnd(28)} ${totalMb.toFixed(0).padStart(5)} MB in ${seconds.toFixed(2).padStart(6)} s  ` +
          `${row.mbPerSecond.toFixed(0).padStart(5)} MB/s  peak rss ${peakMb.toFixed(0)} MB  applied ${stats.devicesApplied}`,
      );
    }
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nwritten to ${writeResults('payloads', { rows })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
