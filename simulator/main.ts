import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliUsageError, parseCliOptions, usage, type CliOptions } from './cli-options.js';
import { SimulatorError } from './errors.js';
import { mixBehaviors } from './mix.js';
import { DeviceSimulator } from './server.js';
import type { SimulatorTlsOptions } from './tls.js';

/**
 * A PEM file named by a flag, checked to hold what the flag wants (a certificate or a private
 * key); a file that cannot be read or parsed is a usage error naming the flag and the file.
 */
async function pem(flag: string, path: string, kind: 'certificate' | 'key'): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliUsageError(`${flag} ${path}: cannot be read (${code})`);
  }
  try {
    if (kind === 'certificate') new X509Certificate(bytes);
    else createPrivateKey(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CliUsageError(`${flag} ${path}: not a PEM ${kind === 'key' ? 'private key' : kind} (${why})`);
  }
  return bytes;
}

async function tlsOptions(tls: NonNullable<CliOptions['tls']>): Promise<SimulatorTlsOptions> {
  return {
    cert: await pem('--tls-cert', tls.certFile, 'certificate'),
    key: await pem('--tls-key', tls.keyFile, 'key'),
    ...(tls.clientCaFile === undefined
      ? {}
      : { ca: await pem('--tls-client-ca', tls.clientCaFile, 'certificate'), requestCert: true }),
  };
}

/** Starts the simulator, writes the fleet file and prints where everything is. */
async function start(options: CliOptions): Promise<DeviceSimulator> {
  const behavior = options.mix === undefined ? undefined : mixBehaviors(options.mix, options.seed);
  const tls = options.tls === undefined ? undefined : await tlsOptions(options.tls);
  const simulator = await DeviceSimulator.start({
    devices: options.devices,
    host: options.host,
    port: options.port,
    seed: options.seed,
    ...(behavior === undefined ? {} : { behavior }),
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
    ...(tls === undefined ? {} : { tls }),
  });
  await mkdir(dirname(options.fleetOut), { recursive: true });
  await simulator.writeFleet(options.fleetOut, { format: options.format, statusUrl: options.statusUrls });
  console.log(
    `simulator: ${options.devices} devices at ${simulator.url} (mix: ${options.mix ?? 'ok=100'}, seed: ${options.seed})`,
  );
  console.log(`fleet:     ${options.fleetOut}`);
  console.log(`status:    ${simulator.statusUrlTemplate}`);
  console.log(`stats:     ${simulator.url}/_stats`);
  return simulator;
}

/** Prints the final stats and exits once SIGINT or SIGTERM arrives. */
function stopOnSignal(simulator: DeviceSimulator): void {
  const stop = (): void => {
    console.log(`final stats: ${JSON.stringify(simulator.stats())}`);
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function fail(error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('simulator: the port is in use; pass --port N (0 = any free port)');
    process.exit(1);
  }
  const known = error instanceof CliUsageError || error instanceof SimulatorError;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`simulator: ${known ? message : `failed to start: ${message}`}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const options = parseCliOptions(process.argv.slice(2));
  if (options.help) {
    console.log(usage);
    return;
  }
  stopOnSignal(await start(options));
}

main().catch(fail);
