import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliUsageError, parseCliOptions, usage, type CliOptions } from './cli-options.js';
import { SimulatorError } from './errors.js';
import { mixBehaviors } from './mix.js';
import { DeviceSimulator } from './server.js';

/** Starts the simulator, writes the fleet file and prints where everything is. */
async function start(options: CliOptions): Promise<DeviceSimulator> {
  const behavior = options.mix === undefined ? undefined : mixBehaviors(options.mix, options.seed);
  const simulator = await DeviceSimulator.start({
    devices: options.devices,
    host: options.host,
    port: options.port,
    seed: options.seed,
    ...(behavior === undefined ? {} : { behavior }),
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
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
