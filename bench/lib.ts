/**
 * Shared pieces of the benchmarks: the simulator as its own process (so its CPU and memory are
 * not the worker's), a dev server with an in-process rollout worker, RSS sampling, output.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { DevServer } from '../scripts/lib/dev-server.js';
import { startDevServer } from '../scripts/lib/dev-server.js';
import { REPO_ROOT } from '../shared/paths.js';
import { createDispatcher } from '../activities/http.js';
import { attemptPush } from '../activities/push.js';
import { sha256File } from '../shared/digest.js';
import type { ArtifactRef, DeviceTarget } from '../shared/types.js';
import type { RolloutReport } from '../workflows/definitions.js';
import type { RolloutSettings } from '../workflows/settings.js';
import { createRolloutWorker } from '../worker/create.js';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/definitions.js';

export interface SimulatorProcess {
  url: string;
  pid: number | undefined;
  fleetPath: string;
  devices(): DeviceTarget[];
  stats(): Promise<{ applied: number; duplicates: number; devicesApplied: number; attempts: number }>;
  stop(): Promise<void>;
}

/** `npm run simulator` as a child process; resolves once it printed its fleet file. */
export async function startSimulator(
  devices: number,
  fleetPath: string,
  extra: string[] = [],
): Promise<SimulatorProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/main.ts',
      '--devices',
      String(devices),
      '--port',
      '0',
      '--fleet-out',
      fleetPath,
      ...extra,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /at (http:\/\/\S+)[\s\S]*fleet:/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`simulator exited (${code}) before it was ready: ${out}`)));
  });
  return {
    url,
    pid: child.pid,
    fleetPath,
    devices: () =>
      readFileSync(fleetPath, 'utf8')
        .trim()
        .split('\n')
        .map((line) => ({ ...(JSON.parse(line) as DeviceTarget), priority: 0 })),
    stats: async () =>
      (await (await fetch(`${url}/_stats`)).json()) as Awaited<ReturnType<SimulatorProcess['stats']>>,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Peak RSS of this process while `work` runs (sampled every 100 ms), in MB. */
export async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    return { value: await work(), peakMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** High-water RSS (VmHWM) of another process, in MB. */
export function processPeakMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : null;
}

const CLOCK_TICKS_PER_SECOND =
  Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system) another process has used so far, in seconds. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU time this process has used so far, in seconds. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export interface EngineHarness {
  server: DevServer;
  client: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

/** A dev server (optionally on a SQLite file) and a rollout worker in this process. */
export async function startEngine(dataDir: string, dbFile?: string): Promise<EngineHarness> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({
    ui: false,
    searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
    ...(dbFile ? { dbFile } : {}),
  });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const taskQueue = 'bench';
  const { worker, run } = await createRolloutWorker(native, {
    temporal: { address: server.address, namespace: 'default', taskQueue },
    dataDir,
    maxActivities: 200,
    connectionsPerHost: 128,
    keepAliveMs: 10_000,
    connectTimeoutMs: 10_000,
    shutdownGraceMs: 1_000,
  });
  const running = run();
  return {
    server,
    client: new Client({ connection }),
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await native.close();
      await server.stop();
    },
  };
}

/** Writes `data` as bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResults(name: string, data: unknown): string {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/**
 * Raw delivery: the project's own push code (`attemptPush`, the worker's dispatcher settings)
 * in a plain loop of `concurrency` lanes, no Temporal.
 */
export async function rawPush(
  devices: DeviceTarget[],
  artifact: ArtifactRef,
  concurrency: number,
): Promise<void> {
  const dispatcher = createDispatcher({
    connectionsPerOrigin: 128,
    keepAliveTimeoutMs: 10_000,
    connectTimeoutMs: 10_000,
  });
  const never = new AbortController().signal;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < devices.length) {
      const device = devices[next++]!;
      await attemptPush(
        { dispatcher },
        { rolloutId: 'raw', device, artifact, attemptTimeoutMs: 120_000 },
        never,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  await dispatcher.close();
}

/** The benchmarks' 1 KiB artifact, written into `dir`. */
export async function smallArtifact(dir: string): Promise<ArtifactRef> {
  const path = join(dir, 'artifact.bin');
  writeFileSync(path, Buffer.alloc(1024, 7));
  return { path, sha256: await sha256File(path, 'base64'), size: 1024 };
}

/** Runs one rollout of the fleet file to its end; returns its id and report. */
export async function runRollout(
  engine: EngineHarness,
  fleet: string,
  artifact: ArtifactRef,
  settings: RolloutSettings,
  idPrefix: string,
): Promise<{ id: string; report: RolloutReport }> {
  const id = `${idPrefix}-${Date.now()}`;
  const handle = await engine.client.workflow.start('rolloutWorkflow', {
    taskQueue: engine.taskQueue,
    workflowId: id,
    args: [{ fleet: { path: fleet, sha256: await sha256File(fleet, 'hex') }, artifact, settings }],
  });
  return { id, report: (await handle.result()) as RolloutReport };
}
