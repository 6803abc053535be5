import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetFormat } from './fleet-file.js';

/** Settings of the simulator CLI, validated. */
export interface CliOptions {
  devices: number;
  mix: string | undefined;
  port: number;
  host: string;
  seed: number;
  /** Absolute path of the fleet file to write. */
  fleetOut: string;
  format: FleetFormat;
  publicUrl: string | undefined;
  /** Write each device's `statusUrl` into the fleet file (verified completion). */
  statusUrls: boolean;
  help: boolean;
}

/** A bad command line; the message names the flag and the fix. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  readonly code = 'ERR_SIM_USAGE';
}

/** Help text of `npm run simulator -- …`. */
export const usage = `Usage: npm run simulator -- [options]
  --devices N        devices to play (default 1000)
  --mix SPEC         behaviour mix, e.g. ok=90,slow=3,flaky=3,ratelimited=2,broken=2 (default all ok)
                     classes: ok slow flaky ratelimited broken hang reset malformed midbody random30 lostanswer
                              slowconfirm unconfirmed
  --port N           port to listen on, 0 = any free port (default 8080)
  --host H           address to bind (default 127.0.0.1)
  --seed N           seed of the mix and of random latency/failures (default 0)
  --fleet-out FILE   fleet file to write (default .data/simulator-fleet.<format>)
  --format F         fleet file format: ndjson, json or csv (default ndjson)
  --public-url URL   base URL written into the fleet (default http://HOST:PORT)
  --status-urls      write each device's statusUrl (GET /devices/<id>/status) into the fleet
  --help             show this help`;

const flags = {
  devices: { type: 'string' },
  mix: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  seed: { type: 'string' },
  'fleet-out': { type: 'string' },
  format: { type: 'string' },
  'public-url': { type: 'string' },
  'status-urls': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function integer(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
    throw new CliUsageError(`--${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function format(value: string | undefined): FleetFormat {
  if (value === undefined) return 'ndjson';
  if (Object.hasOwn(FleetFormat, value)) return value as FleetFormat;
  throw new CliUsageError(`--format must be ndjson, json or csv, got "${value}"`);
}

function publicUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(value)) {
    throw new CliUsageError(
      `--public-url must be an http(s) base URL such as http://simulator:8080, got "${value}"`,
    );
  }
  return value;
}

function parse(args: string[]): ReturnType<typeof parseArgs<{ options: typeof flags }>>['values'] {
  try {
    return parseArgs({ args, options: flags, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliUsageError(`${message}; run with --help for the flags`);
  }
}

/**
 * Parses and validates the command line.
 * @throws CliUsageError naming the bad flag and what to do.
 */
export function parseCliOptions(args: string[], cwd = process.cwd()): CliOptions {
  const values = parse(args);
  const fleetFormat = format(values.format);
  return {
    devices: integer('devices', values.devices, 1000, 1, 10_000_000),
    mix: values.mix,
    port: integer('port', values.port, 8080, 0, 65_535),
    host: values.host ?? '127.0.0.1',
    seed: integer('seed', values.seed, 0, -0x8000_0000, 0xffff_ffff),
    fleetOut: resolve(cwd, values['fleet-out'] ?? `.data/simulator-fleet.${fleetFormat}`),
    format: fleetFormat,
    publicUrl: publicUrl(values['public-url']),
    statusUrls: values['status-urls'] ?? false,
    help: values.help ?? false,
  };
}
