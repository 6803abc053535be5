/**
 * Remote-cluster connection settings, for real: the dev server has no TLS of its own, so the
 * test puts a TLS terminator in front of it (Node's `tls` server, ALPN h2, client certificates
 * required and checked against their CA — what a self-hosted cluster's frontend or Temporal
 * Cloud's mTLS endpoint does), then runs a worker process and the CLI with only
 * TEMPORAL_ADDRESS and TEMPORAL_TLS_* pointing at it.
 */
import type { Server } from 'node:net';
import { connect } from 'node:net';
import { createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutReport } from '../../workflows/definitions.js';
import type { CliRun } from '../helpers/cli.js';
import { lastJson, runRollout } from '../helpers/cli.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, prepareRollout } from '../helpers/temporal-env.js';
import type { TestPki } from '../helpers/test-pki.js';
import { createTestPki } from '../helpers/test-pki.js';
import type { WorkerProcess } from '../helpers/worker-process.js';
import { startWorkerProcess } from '../helpers/worker-process.js';

let env: TestEnv;
let pki: TestPki;
let proxy: Server;
let address = '';
let worker: WorkerProcess | undefined;

/** TLS in front of the dev server's plaintext gRPC port; only clients with a `clientCa` certificate get through. */
async function startTlsFrontend(upstream: string): Promise<Server> {
  const [host = '127.0.0.1', port = '7233'] = upstream.split(':');
  const server = createServer(
    {
      key: pki.device.key,
      cert: pki.device.cert,
      ca: pki.clientCa.cert,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const plain = connect(Number(port), host);
      socket.pipe(plain).pipe(socket);
      socket.on('error', () => plain.destroy());
      plain.on('error', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined); // a refused client is the test's expectation
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** TEMPORAL_* for the TLS frontend; `client: false` leaves the client certificate out. */
function tlsEnv(client = true): NodeJS.ProcessEnv {
  return {
    ...env.processEnv(),
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CA: pki.deviceCa.certPath,
    // The certificate names localhost too; a name (not the IP) is what SNI carries.
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    ...(client ? { TEMPORAL_TLS_CERT: pki.client.certPath, TEMPORAL_TLS_KEY: pki.client.keyPath } : {}),
  };
}

const cli = (args: string[], processEnv: NodeJS.ProcessEnv): Promise<CliRun> => runRollout(args, processEnv);

beforeAll(async () => {
  env = await createTestEnv('tls');
  pki = createTestPki();
  proxy = await startTlsFrontend(env.address);
  const bound = proxy.address();
  if (bound === null || typeof bound === 'string') throw new Error('TLS frontend has no port');
  address = `127.0.0.1:${bound.port}`;
});

afterAll(async () => {
  await worker?.kill();
  proxy?.close();
  pki?.close();
  await env?.close();
});

describe('a cluster behind mutual TLS', () => {
  it('runs a rollout with the worker and the CLI configured from TEMPORAL_ADDRESS and TEMPORAL_TLS_*', async () => {
    worker = await startWorkerProcess(tlsEnv());
    const sim = await env.simulator(12);
    const { fleetPath, artifactPath } = await prepareRollout(env, sim);
    const run = await cli(
      ['start', '--fleet', fleetPath, '--artifact', artifactPath, '--wait', '--json'],
      tlsEnv(),
    );
    expect(run.code, run.stderr).toBe(0);
    const report = lastJson<RolloutReport>(run.stdout);
    expect(report).toMatchObject({ status: 'completed', succeeded: 12 });
    expect(sim.stats().devicesApplied).toBe(12);
  });

  it('refuses a client without a certificate, naming TEMPORAL_ADDRESS and the TLS variables', async () => {
    const run = await cli(['list'], { ...tlsEnv(false), TEMPORAL_CONNECT_TIMEOUT_MS: '3000' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS)`);
    expect(run.stderr).toContain(
      'a cluster that requires mutual TLS needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY',
    );
  });

  it('names both variables when a client certificate comes without its key', async () => {
    const { TEMPORAL_TLS_KEY: _key, ...halfEnv } = tlsEnv();
    const run = await cli(['list'], halfEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both/);
  });
});
