import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeviceAttempt, tokenCheck, type AttemptContext, type DeviceState } from './attempt.js';
import { validateBehavior, type DeviceBehavior } from './behavior.js';
import { ConnectionTracker } from './connections.js';
import { handleControl } from './control.js';
import { devicePath, generateIds, parseDeviceRoute } from './device-ids.js';
import { DeviceStatus } from './device-status.js';
import { SimulatorError, SimulatorErrorCode } from './errors.js';
import { writeFleetFile, type WriteFleetOptions } from './fleet-file.js';
import { AttemptLog, type AttemptRecord, type SimulatorStats } from './stats.js';
import { createDeviceServer, type SimulatorTlsOptions } from './tls.js';

/** Options of `DeviceSimulator.start`. */
export interface SimulatorOptions {
  /** How many devices (ids `dev-000001` …) or their explicit ids. */
  devices: number | string[];
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Behaviour of each device (index is 0-based); default: every device ok. */
  behavior?: (id: string, index: number) => DeviceBehavior;
  /** Seed of random latency and failure probability; same seed, same run. Default 0. */
  seed?: number;
  /** Base URL put into device URLs and fleet files (e.g. behind Docker); default the bound address. */
  publicUrl?: string;
  /** Serve HTTPS (device URLs become `https://…`), optionally demanding client certificates. */
  tls?: SimulatorTlsOptions;
}

const defaults = {
  host: '127.0.0.1',
  port: 0, // a free port
  seed: 0,
} as const;
const closeGraceMs = 1000; // 1 s

function badOption(message: string): never {
  throw new SimulatorError(SimulatorErrorCode.badOption, message);
}

function resolveIds(devices: number | string[]): string[] {
  if (typeof devices === 'number') {
    if (!Number.isInteger(devices) || devices < 0)
      badOption(`devices must be an integer >= 0, got ${devices}`);
    return generateIds(devices);
  }
  if (new Set(devices).size !== devices.length) badOption('devices: explicit ids must be unique');
  if (devices.some((id) => id === '')) badOption('devices: an id must not be empty');
  return [...devices];
}

function buildDevices(
  ids: readonly string[],
  behaviorOf: SimulatorOptions['behavior'],
): Map<string, DeviceState> {
  const devices = new Map<string, DeviceState>();
  ids.forEach((id, index) => {
    const behavior = behaviorOf?.(id, index) ?? {};
    validateBehavior(behavior, `behavior of device ${id}`);
    devices.set(id, { id, index, behavior, attempts: 0, status: new DeviceStatus() });
  });
  return devices;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function baseUrl(address: AddressInfo, https: boolean): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${https ? 'https' : 'http'}://${host}:${address.port}`;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function notFound(res: ServerResponse, reason: string): void {
  sendJson(res, 404, { status: 'not-found', reason });
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { allow, 'content-length': 0 }).end();
}

/**
 * One HTTP server playing a fleet of devices at `POST /devices/<id>/update`, for tests, the
 * demo and benchmarks. Each device verifies the streamed body against `content-length` and
 * `content-digest`, dedupes by `idempotency-key`, and fails as its `DeviceBehavior` says.
 * `GET /devices/<id>/status` answers `{"id","digest","applied"}`: the digest of the update the
 * device runs (see `ConfirmSpec`), for verified completion; polls are counted apart from attempts.
 * With `tls` it serves HTTPS (mutual TLS with `requestCert`); a device with `requireToken`
 * answers 401 to a push or poll without its bearer token.
 * The hot path is a map lookup, an incremental hash and one record per attempt.
 */
export class DeviceSimulator {
  /** Device ids in fleet order. */
  readonly ids: readonly string[];
  private readonly log = new AttemptLog();
  private readonly connections = new ConnectionTracker();
  private readonly context: AttemptContext;
  private blackhole = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly devices: Map<string, DeviceState>,
    seed: number,
    /** Base URL, e.g. `http://127.0.0.1:41234`. */
    readonly url: string,
  ) {
    this.ids = [...devices.keys()];
    this.context = { log: this.log, seed };
    server.on('connection', (socket) => this.connections.add(socket));
    server.on('tlsClientError', () => this.connections.tlsFailed());
    server.on('request', (req, res) => this.handle(req, res));
  }

  /**
   * Starts a simulator and resolves once it listens.
   * @throws SimulatorError for bad options or behaviours (before binding a port).
   */
  static async start(options: SimulatorOptions): Promise<DeviceSimulator> {
    const devices = buildDevices(resolveIds(options.devices), options.behavior);
    const seed = options.seed ?? defaults.seed;
    if (!Number.isInteger(seed)) badOption(`seed must be an integer, got ${seed}`);
    const server = createDeviceServer(options.tls);
    const address = await listen(server, options.port ?? defaults.port, options.host ?? defaults.host);
    const url = (options.publicUrl ?? baseUrl(address, options.tls !== undefined)).replace(/\/+$/, '');
    return new DeviceSimulator(server, devices, seed, url);
  }

  /** Records of every ended attempt, in end order (live view: do not mutate). */
  get attempts(): readonly AttemptRecord[] {
    return this.log.attempts;
  }

  /** URL the engine POSTs the artifact to for device `id`. */
  deviceUrl(id: string): string {
    return `${this.url}${devicePath(id)}`;
  }

  /** URL where device `id` reports the digest of the update it runs. */
  statusUrl(id: string): string {
    return `${this.url}${devicePath(id, 'status')}`;
  }

  /** Status URL template (`{id}` = the URL-encoded device id), for `rollout start --verify`. */
  get statusUrlTemplate(): string {
    return `${this.url}/devices/{id}/status`;
  }

  /** Replaces one device's behaviour, from its next attempt on. */
  setBehavior(id: string, behavior: DeviceBehavior): void {
    const device = this.devices.get(id);
    if (device === undefined) {
      throw new SimulatorError(SimulatorErrorCode.unknownDevice, `no device "${id}" in this simulator`);
    }
    validateBehavior(behavior, `behavior of device ${id}`);
    device.behavior = behavior;
  }

  /** Gives every device the same behaviour, from its next attempt on. */
  setAllBehaviors(behavior: DeviceBehavior): void {
    validateBehavior(behavior, 'behavior of all devices');
    for (const device of this.devices.values()) device.behavior = behavior;
  }

  /**
   * Network partition. While on, device requests (on new or kept-alive connections) are
   * accepted and never answered nor read; they end when the client gives up. Not recorded.
   */
  setBlackhole(on: boolean): void {
    this.blackhole = on;
  }

  /** Records of one device, in end order. */
  attemptsFor(id: string): AttemptRecord[] {
    return this.log.attemptsFor(id);
  }

  /** Counters since start or the last reset. */
  stats(): SimulatorStats {
    return { devices: this.ids.length, ...this.log.snapshot(), ...this.connections.snapshot() };
  }

  /**
   * Forgets attempts, counters, applied keys, per-device attempt counts and what each device
   * reports on its status endpoint; behaviours stay.
   */
  reset(): void {
    this.log.reset();
    this.connections.reset();
    for (const device of this.devices.values()) {
      device.attempts = 0;
      device.status.reset();
    }
  }

  /** Writes a fleet file listing every device with its URL (and status URL, if asked). */
  writeFleet(path: string, options?: WriteFleetOptions): Promise<void> {
    return writeFleetFile(
      path,
      this.ids,
      (id, endpoint) => `${this.url}${devicePath(id, endpoint)}`,
      options,
    );
  }

  /** Stops listening and destroys every socket, hanging ones included. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.connections.destroyAll();
    await closed;
    // Destroyed sockets close their responses a tick later; wait (bounded) so that every
    // attempt in flight is recorded as aborted before close() resolves.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, closeGraceMs)));
    await Promise.race([this.log.whenIdle(), bound]);
    clearTimeout(timer);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith('/_')) return handleControl(this, req, res);
    if (this.blackhole) return;
    const route = parseDeviceRoute(url);
    const device = route === undefined ? undefined : this.devices.get(route.id);
    if (route === undefined || device === undefined) {
      return notFound(res, route === undefined ? 'unknown path' : `no device "${route.id}"`);
    }
    if (route.endpoint === 'status') {
      if (req.method !== 'GET') return notAllowed(res, 'GET');
      const token = tokenCheck(device.behavior, req);
      if (token !== null && token !== 'valid') return sendJson(res, 401, { status: 'unauthorized', token });
      this.log.countStatusPoll();
      return sendJson(res, 200, device.status.report(device.id, Date.now()));
    }
    if (req.method !== 'POST') return notAllowed(res, 'POST');
    new DeviceAttempt(this.context, device, req, res).run();
  }
}
