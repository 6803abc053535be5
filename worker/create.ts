/**
 * Builds a rollout worker: one shared HTTP dispatcher, the activities bound to it, and the
 * workflows (bundled at start, or a prebuilt bundle). Used by `worker/main.ts`, the demo and
 * the tests, so all run the same worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NativeConnection } from '@temporalio/worker';
import { Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createDispatcher } from '../activities/http.js';
import { createPushMetrics } from '../activities/metrics.js';
import type { WorkerConfig } from './config.js';

export interface RolloutWorker {
  worker: Worker;
  /** Runs until shutdown, then closes the HTTP dispatcher. */
  run: () => Promise<void>;
}

/** Entry point of the workflow bundle: the TypeScript source, or its compiled twin under dist/. */
export const WORKFLOWS_PATH = ['index.ts', 'index.js']
  .map((file) => fileURLToPath(new URL(`../workflows/${file}`, import.meta.url)))
  .find((path) => existsSync(path))!;

/**
 * The workflow bundle `npm run build` prebuilt beside the compiled worker (dist/workflow-bundle.js):
 * a worker started from dist/ loads it instead of bundling at start. Absent when running the
 * TypeScript sources.
 */
export const PREBUILT_BUNDLE = WORKFLOWS_PATH.endsWith('.js')
  ? [fileURLToPath(new URL('../workflow-bundle.js', import.meta.url))].find((path) => existsSync(path))
  : undefined;

export async function createRolloutWorker(
  connection: NativeConnection,
  config: Readonly<WorkerConfig>,
  options: { workflowBundlePath?: string; identity?: string } = {},
): Promise<RolloutWorker> {
  const dispatcher = createDispatcher({
    connectionsPerOrigin: config.connectionsPerHost,
    keepAliveTimeoutMs: config.keepAliveMs,
    connectTimeoutMs: config.connectTimeoutMs,
    ...(config.pushTls === undefined ? {} : { tls: config.pushTls }),
  });
  const bundlePath = options.workflowBundlePath ?? config.workflowBundle ?? PREBUILT_BUNDLE;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      dispatcher,
      dataDir: config.dataDir,
      ...(config.allowHosts === undefined ? {} : { allowHosts: config.allowHosts }),
      // The runtime's meter: exported on METRICS_PORT when the process installed an exporter.
      metrics: createPushMetrics(Runtime.instance().metricMeter),
    }),
    maxConcurrentActivityTaskExecutions: config.maxActivities,
    // Heartbeats carry cancellation to a push: let them through every 0.2 s (a per-device
    // push heartbeats every second, a group push every 0.2 s).
    maxHeartbeatThrottleInterval: '200ms',
    defaultHeartbeatThrottleInterval: '200ms',
    shutdownGraceTime: config.shutdownGraceMs,
    ...(options.identity ? { identity: options.identity } : {}),
  });
  return {
    worker,
    run: async () => {
      try {
        await worker.run();
      } finally {
        await dispatcher.close();
      }
    },
  };
}
