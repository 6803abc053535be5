/**
 * Per-test-file access to the real dev server started by the global setup: a client, an
 * in-process rollout worker on the file's own task queue, and helpers to start a rollout the
 * way the CLI does and to read how it ended.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { sha256File } from '../../shared/digest.js';
import type { WorkerConfig } from '../../worker/config.js';
import { createRolloutWorker } from '../../worker/create.js';
import type { RolloutInput, RolloutReport, RolloutSettings } from '../../workflows/definitions.js';
import { REPORT_MEMO_KEY } from '../../workflows/definitions.js';
import { withDefaults } from '../../workflows/settings.js';
import type { DeviceBehavior, WriteFleetOptions } from '../../simulator/index.js';
import { DeviceSimulator } from '../../simulator/index.js';

export interface TestEnv {
  address: string;
  client: Client;
  taskQueue: string;
  dataDir: string;
  workerConfig: WorkerConfig;
  /** Starts an in-process worker; stop it with the returned function. */
  startWorker(identity?: string): Promise<() => Promise<void>>;
  /** The environment a worker or CLI process needs to reach this server, queue and data folder. */
  processEnv(): NodeJS.ProcessEnv;
  /** Starts a simulated fleet, closed with the environment. */
  simulator(devices: number, behavior?: (id: string, i: number) => DeviceBehavior): Promise<DeviceSimulator>;
  close(): Promise<void>;
}

let counter = 0;

/** A worker and client on the suite's dev server, or on the server at `address`. */
export async function createTestEnv(name: string, address = inject('temporalAddress')): Promise<TestEnv> {
  const bundlePath = inject('workflowBundlePath');
  const taskQueue = `${name}-${process.pid}-${counter++}`;
  const dataDir = mkdtempSync(join(tmpdir(), `rollout-${name}-`));
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection });
  const workerConfig: WorkerConfig = {
    temporal: { address, namespace: 'default', taskQueue },
    dataDir,
    maxActivities: 200,
    connectionsPerHost: 128,
    keepAliveMs: 10_000,
    connectTimeoutMs: 5_000,
    shutdownGraceMs: 1_000,
  };
  const stops: Array<() => Promise<void>> = [];
  const simulators: DeviceSimulator[] = [];
  return {
    address,
    client,
    taskQueue,
    dataDir,
    workerConfig,
    async startWorker(identity) {
      const { worker, run } = await createRolloutWorker(native, workerConfig, {
        workflowBundlePath: bundlePath,
        ...(identity ? { identity } : {}),
      });
      const running = run();
      const stop = async (): Promise<void> => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      };
      stops.push(stop);
      return stop;
    },
    processEnv: () => ({
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ROLLOUT_DATA_DIR: dataDir,
    }),
    async simulator(devices, behavior) {
      const sim = await DeviceSimulator.start({ devices, ...(behavior ? { behavior } : {}) });
      simulators.push(sim);
      return sim;
    },
    async close() {
      await Promise.all(stops.map((stop) => stop()));
      await Promise.all(simulators.map((sim) => sim.close()));
      await native.close();
      await connection.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface RolloutFixture {
  fleetPath: string;
  artifactPath: string;
  input: RolloutInput;
}

/** Writes the simulator's fleet and an artifact, and builds the input the CLI would send. */
export async function prepareRollout(
  env: TestEnv,
  sim: DeviceSimulator,
  options: {
    settings?: Partial<RolloutSettings>;
    artifact?: Buffer;
    priority?: (id: string, i: number) => number | undefined;
    /** More fleet fields (token references, status URLs…), as `DeviceSimulator.writeFleet` takes them. */
    fleet?: WriteFleetOptions;
  } = {},
): Promise<RolloutFixture> {
  const dir = join(env.dataDir, `fixture-${counter++}`);
  mkdirSync(dir, { recursive: true });
  const fleetPath = join(dir, 'fleet.ndjson');
  const artifactPath = join(dir, 'artifact.bin');
  await sim.writeFleet(fleetPath, {
    ...options.fleet,
    ...(options.priority ? { priority: options.priority } : {}),
  });
  const artifact = options.artifact ?? Buffer.from('firmware v2 '.repeat(100));
  writeFileSync(artifactPath, artifact);
  const input: RolloutInput = {
    fleet: { path: fleetPath, sha256: await sha256File(fleetPath, 'hex') },
    artifact: { path: artifactPath, sha256: await sha256File(artifactPath, 'base64'), size: artifact.length },
    settings: withDefaults(options.settings),
  };
  return { fleetPath, artifactPath, input };
}

export async function startRollout(
  env: TestEnv,
  input: RolloutInput,
  id = `rollout-test-${counter++}-${Date.now()}`,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return await env.client.workflow.start('rolloutWorkflow', {
    taskQueue: env.taskQueue,
    workflowId: id,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
}

export interface Ending {
  status: 'completed' | 'halted' | 'cancelled' | 'failed';
  report: RolloutReport | undefined;
  error?: unknown;
}

/** How a rollout ended, with its report (from the result, the halt failure or the memo). */
export async function outcomeOf(handle: WorkflowHandle): Promise<Ending> {
  try {
    return { status: 'completed', report: (await handle.result()) as RolloutReport };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'RolloutHalted') {
      return { status: 'halted', report: cause.details?.[0] as RolloutReport };
    }
    if (cause instanceof CancelledFailure) {
      const memo = (await handle.describe()).memo;
      return { status: 'cancelled', report: memo?.[REPORT_MEMO_KEY] as RolloutReport | undefined };
    }
    return { status: 'failed', report: undefined, error: err };
  }
}

/** Polls `predicate` every 50 ms until true or `timeoutMs` passes (then throws). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
