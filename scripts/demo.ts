/**
 * `npm run demo` — a real rollout on the embedded default, end to end:
 * 1. a local Temporal dev server (reused if one answers at TEMPORAL_ADDRESS, else started in
 *    the background with its SQLite file in `.data/` and the Web UI on :8233);
 * 2. a simulated fleet of 1,000 devices (some slow, some flaky, some rate-limiting, a few broken);
 * 3. a rollout worker in this process;
 * 4. the rollout itself, started through the client script with live progress, then the final
 *    report, the figures and the Web UI link.
 * The dev server keeps running afterwards so the rollout stays visible in the Web UI.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { DeviceSimulator, mixBehaviors } from '../simulator/index.js';
import { REPO_ROOT } from '../shared/paths.js';
import { loadWorkerConfig } from '../worker/config.js';
import { createRolloutWorker } from '../worker/create.js';
import { isServerReachable } from './lib/dev-server.js';

const USAGE = `Usage: npm run demo -- [--devices N] [--mix SPEC] [--artifact-kib N]

  --devices N       simulated devices (default 1000)
  --mix SPEC        device classes, e.g. ok=90,slow=3,flaky=3,ratelimited=2,broken=2 (the default)
  --artifact-kib N  size of the generated artifact in KiB (default 64)`;

function options(): { devices: number; mix: string; artifactKib: number } {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '1000' },
      mix: { type: 'string', default: 'ok=90,slow=3,flaky=3,ratelimited=2,broken=2' },
      'artifact-kib': { type: 'string', default: '64' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const devices = Number(values.devices);
  const artifactKib = Number(values['artifact-kib']);
  if (!Number.isInteger(devices) || devices < 1)
    throw new Error(`--devices: must be a whole number ≥ 1 (got ${values.devices})`);
  if (!Number.isInteger(artifactKib) || artifactKib < 0)
    throw new Error(`--artifact-kib: must be a whole number ≥ 0`);
  return { devices, mix: values.mix, artifactKib };
}

/** Runs a command with this terminal; resolves with its exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', cwd: REPO_ROOT, env });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function ensureServer(address: string): Promise<void> {
  if (await isServerReachable(address)) {
    console.error(`demo: using the Temporal server at ${address}`);
    return;
  }
  console.error(`demo: no Temporal server at ${address}; starting the local dev server in the background`);
  const code = await run('npm', ['run', '--silent', 'server', '--', '--background']);
  if (code !== 0) throw new Error('could not start the dev server (see .data/temporal-server.log)');
}

async function main(): Promise<void> {
  const opts = options();
  const config = loadWorkerConfig();
  await ensureServer(config.temporal.address);

  const dir = join(config.dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  // The worker's log (one line per failed attempt, on purpose here) goes to a file, not over
  // the client's live progress.
  const workerLog = join(dir, 'worker.log');
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) =>
      appendFileSync(
        workerLog,
        `${JSON.stringify({ level: entry.level, message: entry.message, ...entry.meta })}\n`,
      ),
    ),
  });
  const sim = await DeviceSimulator.start({ devices: opts.devices, behavior: mixBehaviors(opts.mix, 7) });
  const fleet = join(dir, 'fleet.ndjson');
  const artifact = join(dir, 'firmware-v2.bin');
  await sim.writeFleet(fleet);
  writeFileSync(artifact, randomBytes(opts.artifactKib * 1024));
  console.error(`demo: ${opts.devices} simulated devices at ${sim.url} (${opts.mix}); fleet ${fleet}`);

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const { worker, run: runWorker } = await createRolloutWorker(connection, config);
  const workerDone = runWorker();
  const started = Date.now();
  const code = await run('npm', [
    'run',
    '--silent',
    'rollout',
    '--',
    'start',
    '--fleet',
    fleet,
    '--artifact',
    artifact,
    '--wait',
  ]);
  const seconds = (Date.now() - started) / 1000;
  const stats = sim.stats();

  worker.shutdown();
  await workerDone;
  await connection.close();
  await sim.close();
  console.error(
    [
      '',
      `demo: wall time ${seconds.toFixed(1)} s, ${(opts.devices / seconds).toFixed(0)} devices/s`,
      `demo: simulator saw ${stats.attempts} attempts, ${stats.devicesApplied} devices applied, ` +
        `${stats.duplicates} duplicate deliveries, at most ${stats.maxConcurrent} requests at once`,
      `demo: worker log in ${workerLog}`,
      `demo: the dev server keeps running for the Web UI (http://localhost:8233); stop it with npm run server -- --stop`,
    ].join('\n'),
  );
  process.exitCode = code;
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
