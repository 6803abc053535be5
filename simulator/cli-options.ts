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
  /** HTTPS: PEM files (absolute paths) of the devices' identity and, for mutual TLS, the client CA. */
  tls: { certFile: string; keyFile: string; clientCaFile?: string } | undefined;
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
  --tls-cert FILE    serve HTTPS with this PEM certificate (it must name the host in the URLs)…
  --tls-key FILE     …and this PEM private key (both or neither)
  --tls-client-ca FILE  mutual TLS: only clients with a certificate this CA signed get through
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
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
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

function tls(values: ReturnType<typeof parse>, cwd: string): CliOptions['tls'] {
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  const clientCa = values['tls-client-ca'];
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined)
      throw new CliUsageError('--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is HTTPS first');
    return undefined;
  }
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? '--tls-cert' : '--tls-key';
    throw new CliUsageError(`${missing} is missing: HTTPS needs both --tls-cert FILE and --tls-key FILE`);
  }
  return {
    certFile: resolve(cwd, cert),
    keyFile: resolve(cwd, key),
    ...(clientCa === undefined ? {} : { clientCaFile: resolve(cwd, clientCa) }),
  };
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
    tls: tls(values, cwd),
    help: values.help ?? false,
  };
}
