/**
 * Fixtures of the fault tests beyond `prepareRollout`: fleets written by hand (devices the
 * simulator does not serve, e.g. a closed port), artifacts of any size written in chunks, an
 * in-process worker with its own HTTP settings, and every device's outcome as
 * `rollout results` lists it.
 */
import { closeSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { sha256File } from '../../shared/digest.js';
import type { WorkerConfig } from '../../worker/config.js';
import { createRolloutWorker } from '../../worker/create.js';
import { decodeBatchResult } from '../../workflows/batch-result.js';
import type { BatchResult } from '../../workflows/batch-result.js';
import type {
  DeviceOutcome,
  RolloutInput,
  RolloutReport,
  RolloutSettings,
} from '../../workflows/definitions.js';
import { batchWorkflowId } from '../../workflows/definitions.js';
import { withDefaults } from '../../workflows/settings.js';
import type { TestEnv } from '../helpers/temporal-env.js';

const CHUNK = 1024 * 1024; // 1 MiB: an artifact of any size costs this much memory to write

let counter = 0;

/** A fresh folder in the environment's data folder. */
export function scratchDir(env: TestEnv, name: string): string {
  const dir = join(env.dataDir, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `size` random bytes to `path`, 1 MiB at a time. */
export function writeArtifact(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    const chunk = randomBytes(Math.min(CHUNK, Math.max(size, 1)));
    for (let written = 0; written < size;) {
      written += writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes an NDJSON fleet file, one `{ id, url }` a line. */
export function writeFleet(path: string, devices: ReadonlyArray<{ id: string; url: string }>): void {
  writeFileSync(path, devices.map((d) => `${JSON.stringify(d)}\n`).join(''));
}

/** The input `rollout start` would send for these files (digests computed as the CLI does). */
export async function inputFor(
  fleetPath: string,
  artifactPath: string,
  settings: Partial<RolloutSettings> = {},
): Promise<RolloutInput> {
  return {
    fleet: { path: fleetPath, sha256: await sha256File(fleetPath, 'hex') },
    artifact: {
      path: artifactPath,
      sha256: await sha256File(artifactPath, 'base64'),
      size: statSync(artifactPath).size,
    },
    settings: withDefaults(settings),
  };
}

/**
 * Starts an in-process worker on the environment's task queue with `overrides` of its
 * configuration (e.g. a short keep-alive, so a leak check need not wait 10 s for idle sockets).
 * Resolves to a function that stops it and closes its connection.
 */
export async function startWorkerWith(
  env: TestEnv,
  overrides: Partial<WorkerConfig>,
): Promise<() => Promise<void>> {
  const native = await NativeConnection.connect({ address: env.address });
  const config: WorkerConfig = { ...env.workerConfig, ...overrides };
  const { worker, run } = await createRolloutWorker(native, config, {
    workflowBundlePath: inject('workflowBundlePath'),
  });
  const running = run();
  return async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await native.close();
  };
}

/**
 * Every device's final outcome, by id, read the way `rollout results` reads it: from the
 * result of each batch child workflow of an ended rollout.
 */
export async function deviceOutcomes(
  env: TestEnv,
  report: RolloutReport,
): Promise<Map<string, DeviceOutcome>> {
  const outcomes = new Map<string, DeviceOutcome>();
  for (let batch = 0; batch < report.batches.total; batch++) {
    const handle = env.client.workflow.getHandle(batchWorkflowId(report.rolloutId, batch));
    const result = (await handle.result()) as BatchResult;
    for (const outcome of decodeBatchResult(result)) {
      if (outcome !== undefined) outcomes.set(outcome.deviceId, outcome);
    }
  }
  return outcomes;
}
