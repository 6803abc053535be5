/**
 * `npm run record-histories` — re-records the workflow histories that CI replays
 * (test/replay/histories/*.json) from real rollouts: a dev server on free ports, an in-process
 * worker and the simulator. Re-record only when a workflow change is *meant* to break replay
 * of running rollouts (see the README, "Changing workflow code safely").
 *
 * `npm run record-histories -- --only waves-gate,paused` records only those scenarios, e.g. a
 * new one, leaving older histories in place: they keep proving that today's code still
 * replays rollouts started by earlier versions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { sha256File } from '../shared/digest.js';
import { REPO_ROOT } from '../shared/paths.js';
import type { DeviceBehavior } from '../simulator/index.js';
import { DeviceSimulator } from '../simulator/index.js';
import { createRolloutWorker } from '../worker/create.js';
import type { RolloutSettings } from '../workflows/definitions.js';
import type { RolloutProgress } from '../workflows/definitions.js';
import {
  SEARCH_ATTRIBUTE_TYPES,
  approveSignal,
  batchWorkflowId,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setUpdate,
} from '../workflows/definitions.js';
import { parseWaves, withDefaults } from '../workflows/settings.js';
import { startDevServer } from './lib/dev-server.js';

const OUT = join(REPO_ROOT, 'test', 'replay', 'histories');
const TASK_QUEUE = 'record-histories';

interface Scenario {
  name: string;
  devices: number;
  behavior: (id: string, i: number) => DeviceBehavior;
  settings: Partial<RolloutSettings>;
  /** Runs while the rollout is going (e.g. cancels it). */
  during?: (handle: WorkflowHandle, sim: DeviceSimulator) => Promise<void>;
  /** Edit the artifact after the client hashed it (the rollout fails its start check). */
  changeArtifact?: boolean;
  /** The rollout never starts a batch: record no batch history. */
  noBatch?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'completed',
    devices: 30,
    behavior: (_id, i) =>
      i === 4
        ? { failure: { mode: 'status', status: 503, firstAttempts: 1 } }
        : i === 7
          ? { failure: { mode: 'status', status: 404 } }
          : {},
    settings: { batchSize: 10, maxInFlight: 8, initialIntervalMs: 200 },
  },
  {
    name: 'fast',
    devices: 40,
    behavior: (_id, i) =>
      i === 4
        ? { failure: { mode: 'status', status: 503, firstAttempts: 2 } }
        : i === 7
          ? { failure: { mode: 'status', status: 404 } }
          : {},
    settings: { mode: 'fast', batchSize: 20, maxInFlight: 8, initialIntervalMs: 200 },
  },
  {
    // Fast mode past 1,000 devices a batch: devices loaded in chunks, groups sized by the
    // `fast-groups-v2` patch.
    name: 'fast-large',
    devices: 1200,
    behavior: (_id, i) =>
      i === 4
        ? { failure: { mode: 'status', status: 503, firstAttempts: 1 } }
        : i === 7
          ? { failure: { mode: 'status', status: 404 } }
          : {},
    settings: { mode: 'fast', batchSize: 1200, maxInFlight: 50, initialIntervalMs: 200 },
  },
  {
    name: 'halted',
    devices: 60,
    behavior: (_id, i) => (i % 2 === 0 ? { failure: { mode: 'status', status: 500 } } : {}),
    settings: { batchSize: 20, maxInFlight: 8, maxAttempts: 2, initialIntervalMs: 100, minSamples: 10 },
  },
  {
    name: 'cancelled',
    devices: 40,
    behavior: () => ({ latencyMs: 300 }),
    settings: { batchSize: 10, maxInFlight: 4 },
    during: async (handle, sim) => {
      while (sim.stats().applied < 8) await new Promise((r) => setTimeout(r, 50));
      await handle.cancel();
    },
  },
  {
    name: 'waves-gate',
    devices: 20,
    behavior: () => ({}),
    settings: {
      batchSize: 5,
      maxInFlight: 4,
      waves: parseWaves('25%,100%'),
      bakeMs: 300,
      approveWaves: true,
    },
    during: async (handle) => {
      await until(handle, (p) => p.waitingFor?.kind === 'approval');
      await handle.signal(approveSignal);
    },
  },
  {
    name: 'paused',
    devices: 30,
    behavior: () => ({ latencyMs: 100 }),
    settings: { batchSize: 10, maxInFlight: 3 },
    during: async (handle, sim) => {
      while (sim.stats().applied < 6) await sleep(50);
      await handle.signal(pauseSignal, { reason: 'recording a pause' });
      await until(handle, (p) => p.status === 'paused');
      await sleep(1000);
      await handle.signal(resumeSignal);
    },
  },
  {
    // Continue-as-new every ~150 events: the first run's history ends in it, carrying the
    // running batches' state to the next run.
    name: 'continued',
    devices: 60,
    behavior: () => ({ latencyMs: 20 }),
    settings: { batchSize: 5, maxInFlight: 6, maxEventsPerRun: 150 },
  },
  {
    // The `check-artifact-at-start` patch: the rollout fails before freezing its fleet.
    name: 'artifact-changed',
    devices: 5,
    behavior: () => ({}),
    settings: {},
    changeArtifact: true,
    noBatch: true,
  },
  {
    name: 'live-change',
    devices: 40,
    behavior: () => ({}),
    settings: { batchSize: 20, rate: 10, failureThreshold: 1 },
    during: async (handle, sim) => {
      while (sim.stats().applied < 5) await sleep(50);
      // Rejected by the validator: leaves no trace in history.
      await handle.executeUpdate(setUpdate, { args: [{ maxInFlight: 0 }] }).catch(() => undefined);
      await handle.executeUpdate(setUpdate, { args: [{ rate: 100, maxInFlight: 20 }] });
    },
  },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls the rollout's progress until `predicate` holds. */
async function until(handle: WorkflowHandle, predicate: (p: RolloutProgress) => boolean): Promise<void> {
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress && predicate(progress)) return;
    await sleep(50);
  }
}

async function record(client: Client, dataDir: string, scenario: Scenario): Promise<void> {
  const sim = await DeviceSimulator.start({ devices: scenario.devices, behavior: scenario.behavior });
  try {
    const fleet = join(dataDir, `${scenario.name}.ndjson`);
    const artifact = join(dataDir, `${scenario.name}.bin`);
    await sim.writeFleet(fleet);
    writeFileSync(artifact, `artifact for ${scenario.name}`);
    const sha256 = await sha256File(artifact, 'base64');
    if (scenario.changeArtifact) writeFileSync(artifact, `changed artifact for ${scenario.name}`);
    const id = `replay-${scenario.name}`;
    const handle = await client.workflow.start('rolloutWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [
        {
          fleet: { path: fleet, sha256: await sha256File(fleet, 'hex') },
          artifact: {
            path: artifact,
            sha256,
            size: Buffer.byteLength(`artifact for ${scenario.name}`),
          },
          settings: withDefaults(scenario.settings),
        },
      ],
    });
    await scenario.during?.(handle, sim);
    await handle.result().catch(() => undefined);
    // The first run: for a rollout that continued-as-new it is the one that ends in it.
    const firstRun = client.workflow.getHandle(id, handle.firstExecutionRunId);
    writeFileSync(join(OUT, `rollout-${scenario.name}.json`), historyToJSON(await firstRun.fetchHistory()));
    if (!scenario.noBatch) {
      const batch = client.workflow.getHandle(batchWorkflowId(id, 0));
      writeFileSync(join(OUT, `batch-${scenario.name}.json`), historyToJSON(await batch.fetchHistory()));
    }
    console.log(`recorded ${scenario.name}`);
  } finally {
    await sim.close();
  }
}

/** The scenarios named by `--only a,b` (all without it); an unknown name is an error. */
function chosen(): Scenario[] {
  const at = process.argv.indexOf('--only');
  if (at < 0) return SCENARIOS;
  const names = (process.argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `--only: unknown scenario ${unknown.join(', ') || '(none given)'}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  return SCENARIOS.filter((s) => names.includes(s.name));
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  mkdirSync(OUT, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'record-histories-'));
  const server = await startDevServer({ ui: false, searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES } });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  try {
    const { worker, run } = await createRolloutWorker(native, {
      temporal: { address: server.address, namespace: 'default', taskQueue: TASK_QUEUE },
      dataDir,
      maxActivities: 100,
      connectionsPerHost: 32,
      keepAliveMs: 10_000,
      connectTimeoutMs: 5_000,
      shutdownGraceMs: 1_000,
    });
    const running = run();
    const client = new Client({ connection });
    for (const scenario of chosen()) await record(client, dataDir, scenario);
    worker.shutdown();
    await running;
  } finally {
    await connection.close();
    await native.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
