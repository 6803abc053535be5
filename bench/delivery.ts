/**
 * `npm run bench:delivery -- [--sizes 1000,10000,100000] [--concurrency 100] [--modes raw,per-device,fast] [--db FILE]`
 *
 * Raw delivery against the engine, side by side in one run on the same machine, all against
 * the same simulator process:
 * - raw: the project's own push code (`attemptPush`: same undici dispatcher, headers, digest,
 *   1 KiB payload) driven by a plain loop at the given concurrency, no Temporal;
 * - per-device / fast: a full rollout through a local dev server at the same concurrency
 *   (`maxInFlight`), in each push mode.
 * Prints devices/s, the engine/raw ratio, peak RSS of this process (the worker) and of the dev
 * server, dev-server database growth (with --db), the largest history of any workflow run and
 * the number of runs; writes the figures as JSON to bench/results/.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { batchWorkflowId } from '../workflows/definitions.js';
import type { RolloutSettings } from '../workflows/settings.js';
import { PushMode, withDefaults } from '../workflows/settings.js';
import {
  ownCpuSeconds,
  processCpuSeconds,
  processPeakMb,
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
  mode: string;
  seconds: number;
  devicesPerSecond: number;
  ratioToRaw: number | null;
  succeeded: number;
  duplicates: number;
  workerPeakRssMb: number;
  serverPeakRssMb: number | null;
  dbGrowthMbPer10k: number | null;
  maxEventsPerRun: number | null;
  maxHistoryBytesPerRun: number | null;
  runs: number | null;
  /** CPU time per device, in ms, of this process (the raw loop or the worker), the dev server and the simulator. */
  cpuMsPerDevice: { worker: number; server: number | null; simulator: number | null };
  /** CPU used by all three over the wall time, as a share of the machine's cores. */
  cpuShareOfMachine: number;
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    concurrency: { type: 'string', default: '100' },
    modes: { type: 'string', default: 'raw,per-device,fast' },
    db: { type: 'string' },
    'batch-size': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const concurrency = Number(values.concurrency);
const modes = values.modes.split(',');

/** Each mode's default batch size (per-device 500, fast 5,000) unless --batch-size says otherwise. */
function settingsFor(mode: string): RolloutSettings {
  return withDefaults({
    mode: mode === 'fast' ? PushMode.Fast : PushMode.PerDevice,
    maxInFlight: concurrency,
    ...(values['batch-size'] ? { batchSize: Number(values['batch-size']) } : {}),
  });
}

/** Largest history (events, bytes) over the rollout's runs and its batches, and how many runs. */
async function historyFigures(
  client: Client,
  id: string,
  batches: number,
): Promise<Pick<Row, 'maxEventsPerRun' | 'maxHistoryBytesPerRun' | 'runs'>> {
  const handles = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${id}'` }))
    handles.push(client.workflow.getHandle(id, run.runId));
  for (let b = 0; b < batches; b++) handles.push(client.workflow.getHandle(batchWorkflowId(id, b)));
  let maxEvents = 0;
  let maxBytes = 0;
  for (const handle of handles) {
    const d = await handle.describe();
    maxEvents = Math.max(maxEvents, d.historyLength);
    if ((d.historySize ?? 0) > maxBytes) {
      maxBytes = d.historySize ?? 0;
      if (process.env['BENCH_DEBUG'])
        console.error(
          `largest history so far: ${handle.workflowId} ${d.runId} ${maxBytes} bytes, ${d.historyLength} events`,
        );
    }
  }
  return { maxEventsPerRun: maxEvents, maxHistoryBytesPerRun: maxBytes, runs: handles.length };
}

const dbSizeMb = (file: string | undefined): number | null => {
  if (file === undefined) return null;
  const sizeOf = (f: string): number => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  return (sizeOf(file) + sizeOf(`${file}-wal`)) / 2 ** 20;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const engine = await startEngine(dir, values.db);
  const artifact = await smallArtifact(dir);
  const rows: Row[] = [];
  try {
    for (const devices of sizes) {
      let rawRate: number | null = null;
      for (const mode of modes) {
        const sim = await startSimulator(devices, join(dir, `fleet-${devices}-${mode}.ndjson`));
        const dbBefore = dbSizeMb(values.db);
        const cpuBefore = cpuNow(engine.server.pid, sim.pid);
        const started = performance.now();
        const row = { devices, mode } as Row;
        if (mode === 'raw') {
          const list = sim.devices();
          const m = await withPeakRss(() => rawPush(list, artifact, concurrency).then(() => list.length));
          Object.assign(row, {
            succeeded: m.value,
            workerPeakRssMb: m.peakMb,
            maxEventsPerRun: null,
            maxHistoryBytesPerRun: null,
            runs: null,
          });
        } else {
          const m = await withPeakRss(() =>
            runRollout(engine, sim.fleetPath, artifact, settingsFor(mode), `bench-${mode}`),
          );
          Object.assign(row, { succeeded: m.value.report.succeeded, workerPeakRssMb: m.peakMb });
          Object.assign(row, await historyFigures(engine.client, m.value.id, m.value.report.batches.total));
        }
        row.seconds = (performance.now() - started) / 1000;
        Object.assign(row, cpuFigures(cpuBefore, cpuNow(engine.server.pid, sim.pid), devices, row.seconds));
        row.devicesPerSecond = devices / row.seconds;
        if (mode === 'raw') rawRate = row.devicesPerSecond;
        row.ratioToRaw = rawRate === null ? null : row.devicesPerSecond / rawRate;
        row.serverPeakRssMb = processPeakMb(engine.server.pid);
        const dbAfter = dbSizeMb(values.db);
        row.dbGrowthMbPer10k =
          dbBefore === null || dbAfter === null ? null : ((dbAfter - dbBefore) * 10_000) / devices;
        const stats = await sim.stats();
        row.duplicates = stats.duplicates;
        if (stats.devicesApplied !== devices)
          throw new Error(`${mode}: only ${stats.devicesApplied} of ${devices} devices applied`);
        await sim.stop();
        rows.push(row);
        console.log(format(row));
      }
    }
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n${table(rows)}`);
  console.log(`\nwritten to ${writeResults('delivery', { concurrency, rows })}`);
}

interface CpuSample {
  worker: number;
  server: number | null;
  simulator: number | null;
}

function cpuNow(serverPid: number | undefined, simulatorPid: number | undefined): CpuSample {
  return {
    worker: ownCpuSeconds(),
    server: processCpuSeconds(serverPid),
    simulator: processCpuSeconds(simulatorPid),
  };
}

/** CPU ms per device of each process between two samples, and their sum as a share of the cores. */
function cpuFigures(
  before: CpuSample,
  after: CpuSample,
  devices: number,
  seconds: number,
): Pick<Row, 'cpuMsPerDevice' | 'cpuShareOfMachine'> {
  const spent = (a: number | null, b: number | null): number | null =>
    a === null || b === null ? null : b - a;
  const worker = after.worker - before.worker;
  const server = spent(before.server, after.server);
  const simulator = spent(before.simulator, after.simulator);
  const perDevice = (s: number | null): number | null => (s === null ? null : (s * 1000) / devices);
  return {
    cpuMsPerDevice: {
      worker: perDevice(worker)!,
      server: perDevice(server),
      simulator: perDevice(simulator),
    },
    cpuShareOfMachine: (worker + (server ?? 0) + (simulator ?? 0)) / (seconds * availableParallelism()),
  };
}

/** The run's figures as one markdown table. */
function table(rows: Row[]): string {
  const ms = (v: number | null): string => (v === null ? '–' : v.toFixed(2));
  const header = [
    'devices',
    'mode',
    'time',
    'devices/s',
    'engine/raw',
    'CPU ms/device: worker · server · simulator',
    'CPU busy',
    'worker peak RSS',
    'server peak RSS',
    'DB growth / 10K devices',
    'max events / run',
    'max bytes / run',
    'runs',
  ];
  const lines = rows.map((r) => [
    r.devices.toLocaleString('en-US'),
    r.mode === 'raw' ? r.mode : `${r.mode} (batch ${settingsFor(r.mode).batchSize.toLocaleString('en-US')})`,
    `${r.seconds.toFixed(1)} s`,
    r.devicesPerSecond.toFixed(0),
    r.ratioToRaw === null ? '–' : r.ratioToRaw.toFixed(2),
    `${ms(r.cpuMsPerDevice.worker)} · ${ms(r.cpuMsPerDevice.server)} · ${ms(r.cpuMsPerDevice.simulator)}`,
    `${(r.cpuShareOfMachine * 100).toFixed(0)} %`,
    `${r.workerPeakRssMb.toFixed(0)} MB`,
    r.serverPeakRssMb === null ? '–' : `${r.serverPeakRssMb.toFixed(0)} MB`,
    r.dbGrowthMbPer10k === null ? '–' : `${r.dbGrowthMbPer10k.toFixed(1)} MB`,
    r.maxEventsPerRun === null ? '–' : r.maxEventsPerRun.toLocaleString('en-US'),
    r.maxHistoryBytesPerRun === null ? '–' : `${(r.maxHistoryBytesPerRun / 2 ** 20).toFixed(2)} MB`,
    r.runs === null ? '–' : String(r.runs),
  ]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function format(r: Row): string {
  return [
    String(r.devices).padStart(7),
    r.mode.padEnd(10),
    `${r.seconds.toFixed(1).padStart(7)} s`,
    `${r.devicesPerSecond.toFixed(0).padStart(6)} dev/s`,
    r.ratioToRaw === null ? 'engine/raw    -' : `engine/raw ${r.ratioToRaw.toFixed(2)}`,
    `ok ${r.succeeded}`,
    `dup ${r.duplicates}`,
    `worker rss ${r.workerPeakRssMb.toFixed(0)} MB`,
    `server rss ${r.serverPeakRssMb?.toFixed(0) ?? '-'} MB`,
    `db +${r.dbGrowthMbPer10k?.toFixed(1) ?? '-'} MB/10k`,
    `max events/run ${r.maxEventsPerRun ?? '-'}`,
    `max bytes/run ${r.maxHistoryBytesPerRun ?? '-'}`,
    `runs ${r.runs ?? '-'}`,
    `cpu ms/dev ${r.cpuMsPerDevice.worker.toFixed(2)}/${r.cpuMsPerDevice.server?.toFixed(2) ?? '-'}/${r.cpuMsPerDevice.simulator?.toFixed(2) ?? '-'}`,
  ].join('  ');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
