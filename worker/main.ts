/**
 * `npm run worker`: a rollout worker process. Configuration comes from the environment (see
 * the README's table); SIGINT/SIGTERM shut it down gracefully (pushes in flight get
 * WORKER_SHUTDOWN_GRACE_MS to finish; Temporal retries the rest elsewhere).
 */
import { X509Certificate } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError } from '../shared/env.js';
import { loadWorkerConfig, type WorkerConfig } from './config.js';
import { createRolloutWorker } from './create.js';
import { installTelemetry, jsonLine } from './telemetry.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  // Before any connection: the runtime (logger, metrics exporter) is installed once.
  if (config.telemetry) installTelemetry(config.telemetry);
  const { address, tls, apiKey } = config.temporal;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({
      address,
      ...(tls ? { tls } : {}),
      ...(apiKey ? { apiKey } : {}),
    });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at TEMPORAL_ADDRESS=${address} (${(err as Error).message}); ` +
        'start one with `npm run server` or set TEMPORAL_ADDRESS',
    );
  }
  try {
    const { run } = await createRolloutWorker(connection, config);
    const metrics = config.telemetry?.metricsPort;
    const ready =
      `worker ready: ${address} namespace=${config.temporal.namespace} task queue=${config.temporal.taskQueue} ` +
      `data=${config.dataDir}${metrics === undefined ? '' : ` metrics=http://localhost:${metrics}/metrics`}`;
    const pushes = pushPolicy(config);
    if (config.telemetry?.logFormat === 'json') {
      const { namespace, taskQueue } = config.temporal;
      const meta = { address, namespace, taskQueue, metricsPort: metrics, pushes };
      process.stdout.write(`${jsonLine('INFO', ready, meta)}\n`);
    } else {
      console.log(`${ready} (Ctrl-C to stop)`);
      console.log(`pushes: ${pushes}`);
    }
    await run();
  } finally {
    await connection.close();
  }
}

/** `extra CAs from PUSH_CA_FILE, client certificate CN=…, hosts *.example.com` or `any host, Node's CAs`. */
function pushPolicy(config: Readonly<WorkerConfig>): string {
  const { pushTls, allowHosts } = config;
  return [
    pushTls?.ca === undefined ? "Node's bundled CAs" : "Node's bundled CAs + PUSH_CA_FILE",
    pushTls?.cert === undefined ? 'no client certificate' : `client certificate ${subjectOf(pushTls.cert)}`,
    allowHosts === undefined ? 'any host' : `hosts ${allowHosts.toString()} only`,
  ].join(', ');
}

function subjectOf(pem: string): string {
  return new X509Certificate(pem).subject.replaceAll('\n', ', ');
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `worker: ${(err as Error).message ?? String(err)}`,
  );
  process.exit(1);
});
