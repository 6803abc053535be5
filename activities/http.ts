/**
 * The worker's one HTTP dispatcher. Shared by every push so connections to a device are
 * kept alive and reused across attempts and rollouts.
 */
import { isIP } from 'node:net';
import { connect as connectTls, rootCertificates } from 'node:tls';
import { Agent } from 'undici';

/**
 * TLS to devices, PEM text. Lives on the worker only: read from files named by its environment
 * and handed to the dispatcher, never to a workflow, an activity input or a failure.
 */
export interface PushTlsOptions {
  /** CA certificates trusted for device certificates, in addition to Node's bundled roots. */
  ca?: string;
  /** Client certificate (chain) presented to devices that ask for one (mutual TLS). */
  cert?: string;
  /** The client certificate's private key. */
  key?: string;
}

/** Options of `createDispatcher`. */
export interface DispatcherOptions {
  /** Connections kept at most to one device origin (one push uses one). */
  connectionsPerOrigin: number;
  /** How long an idle kept-alive connection stays open, in ms. */
  keepAliveTimeoutMs: number;
  /** TCP (+ TLS) connect timeout, in ms. */
  connectTimeoutMs: number;
  /** Extra CAs and a client identity for https devices; absent: Node's defaults. */
  tls?: PushTlsOptions;
}

export const DEFAULT_DISPATCHER_OPTIONS: Readonly<DispatcherOptions> = Object.freeze({
  connectionsPerOrigin: 8,
  keepAliveTimeoutMs: 4 * 1000, // 4 s, below common server idle timeouts (5 s)
  connectTimeoutMs: 10 * 1000, // 10 s
});

/**
 * The worker's keep-alive undici `Agent`, with bounded connections per origin and no pipelining
 * (a pipelined request would fail with its predecessor). It neither retries (Temporal owns
 * retries) nor follows redirects (a device must not send the update elsewhere): undici's `Agent`
 * does neither unless given interceptors, and none are added.
 */
export class PushDispatcher extends Agent {
  readonly #tls: TlsConnectOptions;
  readonly #connectTimeoutMs: number;

  constructor(options: DispatcherOptions) {
    check('connectionsPerOrigin', options.connectionsPerOrigin, 1);
    check('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 1);
    check('connectTimeoutMs', options.connectTimeoutMs, 1);
    const tls = tlsConnectOptions(options.tls);
    super({
      connections: options.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // A device may say how long it keeps idle connections; never keep one longer than ours.
      keepAliveMaxTimeout: options.keepAliveTimeoutMs,
      connect: { timeout: options.connectTimeoutMs, ...tls },
    });
    this.#tls = tls;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  /**
   * Why an https device dropped a connection, if TLS can tell: connects once more with the same
   * TLS options, sends nothing, and resolves with the TLS error the device then reports (a
   * certificate alert), or undefined when it accepts us (a session ticket), closes without a
   * word, or `VERDICT_WAIT_MS` pass.
   *
   * Why: with TLS 1.3 a device judges the client certificate only after the handshake, while
   * the request is already being sent; it then sends an alert and closes, and with body bytes
   * still unread its close is a reset that discards the alert. Sending nothing, this connection
   * receives the verdict intact. Called only after a reset, so a healthy push never pays for it.
   */
  diagnoseTls(url: string, cancel: AbortSignal): Promise<NodeJS.ErrnoException | undefined> {
    const { hostname, port } = new URL(url);
    const host = hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve) => {
      const socket = connectTls({
        host,
        port: port === '' ? 443 : Number(port),
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...this.#tls,
      });
      const done = (err?: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        cancel.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(err);
      };
      const onAbort = (): void => done();
      const timer = setTimeout(done, this.#connectTimeoutMs + VERDICT_WAIT_MS);
      cancel.addEventListener('abort', onAbort);
      socket.once('error', done);
      socket.once('session', () => done());
      socket.once('close', () => done());
      socket.resume();
    });
  }
}

/** How long a diagnosis waits for a device's verdict on the client certificate after the handshake. */
const VERDICT_WAIT_MS = 1000; // 1 s

/** The worker's dispatcher (see `PushDispatcher`). */
export function createDispatcher(options: DispatcherOptions): PushDispatcher {
  return new PushDispatcher(options);
}

interface TlsConnectOptions {
  ca?: string[];
  cert?: string;
  key?: string;
}

/** `tls.connect` options for `tls`: a `ca` replaces Node's roots, so the bundled roots come along. */
function tlsConnectOptions(tls: PushTlsOptions | undefined): TlsConnectOptions {
  if (tls === undefined) return {};
  return {
    ...(tls.ca === undefined ? {} : { ca: [...rootCertificates, tls.ca] }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}

function check(name: keyof DispatcherOptions, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`createDispatcher: ${name} must be a whole number ≥ ${min} (got ${value})`);
  }
}
