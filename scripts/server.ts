/**
 * `npm run server` — the local Temporal dev server: gRPC on 127.0.0.1:7233, the Web UI on
 * :8233, state in `.data/temporal.db`, the rollout search attributes registered. Foreground
 * by default (Ctrl-C stops it); `--background` detaches it, `--stop` stops that one again.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/definitions.js';
import { isServerReachable, startDevServer } from './lib/dev-server.js';
import { isPortFree } from './lib/ports.js';
import { DEFAULT_DATA_DIR } from '../shared/paths.js';

const DATA_DIR = DEFAULT_DATA_DIR;
const PID_FILE = join(DATA_DIR, 'temporal-server.pid');
const LOG_FILE = join(DATA_DIR, 'temporal-server.log');
const HOST = '127.0.0.1';
const NAMESPACE = 'default';

const USAGE = `Usage: npm run server -- [--port N] [--ui-port N] [--db FILE] [--background | --stop]

  --port N        gRPC port (default 7233)
  --ui-port N     Web UI port (default 8233)
  --db FILE       SQLite file the server keeps its state in (default .data/temporal.db)
  --background    detach; pid in .data/temporal-server.pid, log in .data/temporal-server.log
  --stop          stop a server started with --background
  --help          this text`;

interface ServerArgs {
  port: number;
  uiPort: number;
  db: string;
  background: boolean;
  stop: boolean;
  help: boolean;
}

class UsageError extends Error {}

function parseCli(argv: string[]): ServerArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        'ui-port': { type: 'string' },
        db: { type: 'string' },
        background: { type: 'boolean', default: false },
        stop: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.background && values.stop) throw new UsageError('--background and --stop exclude each other');
  if (values.db === '') throw new UsageError('--db needs a file path, e.g. --db .data/temporal.db');
  return {
    port: parsePort('--port', values.port, 7233),
    uiPort: parsePort('--ui-port', values['ui-port'], 8233),
    db: resolve(values.db ?? join(DATA_DIR, 'temporal.db')),
    background: values.background,
    stop: values.stop,
    help: values.help,
  };
}

function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new UsageError(`${flag} must be a port number between 1 and 65535 (got "${value}")`);
  }
  return port;
}

/**
 * Stops a server started with `detached: true` by another process (pid file): SIGTERM, then
 * SIGKILL after `graceMs`. Resolves false when no such process was running.
 */
async function stopServerProcess(pid: number, graceMs = 10 * 1000): Promise<boolean> {
  if (!isAlive(pid)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(200);
  return true;
}

/** Whether `pid` runs; a zombie (exited, not yet reaped by a non-init PID 1) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readProcFile(pid, 'stat');
  return stat === undefined || !/^\d+ \(.*\) Z/s.test(stat);
}

/** `/proc/<pid>/<name>` on Linux; undefined elsewhere or when the process is gone. */
function readProcFile(pid: number, name: 'stat' | 'cmdline'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

async function stopBackground(): Promise<number> {
  const text = await readFile(PID_FILE, 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  if (text === undefined || !Number.isInteger(pid) || pid <= 0) {
    console.log(`No background server recorded (${PID_FILE} is missing or unreadable).`);
    await rm(PID_FILE, { force: true });
    return 0;
  }
  // A stale pid file may name a pid reused by an unrelated process: never signal that one.
  const cmdline = readProcFile(pid, 'cmdline');
  if (cmdline !== undefined && !cmdline.includes('start-dev')) {
    console.log(`pid ${pid} is not a Temporal dev server any more; removing the stale ${PID_FILE}.`);
    await rm(PID_FILE, { force: true });
    return 0;
  }
  const stopped = await stopServerProcess(pid);
  await rm(PID_FILE, { force: true });
  console.log(stopped ? `Stopped the Temporal dev server (pid ${pid}).` : `No server ran as pid ${pid}.`);
  return 0;
}

/** A server we did not start may lack the search attributes the workflows upsert. */
async function reportMissingAttributes(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
      if (listed.customAttributes?.[name] !== undefined) continue;
      console.warn(
        `Search attribute ${name} is missing; add it with: ` +
          `temporal operator search-attribute create --address ${address} --name ${name} --type ${type}`,
      );
    }
  } finally {
    await connection.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.stop) return stopBackground();
  const address = `${HOST}:${args.port}`;
  if (await isServerReachable(address)) {
    console.log(`A Temporal server already answers on ${address}; reusing it.`);
    await reportMissingAttributes(address).catch(() => undefined);
    return 0;
  }
  for (const [flag, port] of [
    ['--port', args.port],
    ['--ui-port', args.uiPort],
  ] as const) {
    if (!(await isPortFree(port, HOST))) {
      throw new UsageError(
        `port ${port} is taken by something that is not a Temporal server; pick another ${flag}`,
      );
    }
  }
  await mkdir(DATA_DIR, { recursive: true });
  const options = {
    port: args.port,
    uiPort: args.uiPort,
    ip: HOST,
    dbFile: args.db,
    namespace: NAMESPACE,
    searchAttributes: SEARCH_ATTRIBUTE_TYPES,
  };
  if (args.background) {
    const pidText = await readFile(PID_FILE, 'utf8').catch(() => '');
    if (pidText !== '' && isAlive(Number(pidText))) {
      throw new Error(`A background server (pid ${pidText.trim()}) is still running; stop it with --stop`);
    }
    const server = await startDevServer({ ...options, detached: true, logFile: LOG_FILE });
    await writeFile(PID_FILE, `${server.pid}\n`);
    console.log(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl} (pid ${server.pid}).`);
    console.log(`Log: ${LOG_FILE}. Stop it with: npm run server -- --stop`);
    return 0;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const server = await startDevServer({ ...options, log });
  console.log(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl}. Ctrl-C stops it.`);
  let stopping = false;
  const onSignal = (): void => {
    stopping = true;
    void server.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await server.exited;
  return stopping ? 0 : (code ?? 1);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`server: ${message}`);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    process.exitCode = 1;
  },
);
