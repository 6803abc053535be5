/**
 * The worker's one HTTP dispatcher. Shared by every push so connections to a device are
 * kept alive and reused across attempts and rollouts.
 */
import { Agent } from 'undici';

/** Options of `createDispatcher`. */
export interface DispatcherOptions {
  /** Connections kept at most to one device origin (one push uses one). */
  connectionsPerOrigin: number;
  /** How long an idle kept-alive connection stays open, in ms. */
  keepAliveTimeoutMs: number;
  /** TCP (+ TLS) connect timeout, in ms. */
  connectTimeoutMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: Readonly<DispatcherOptions> = Object.freeze({
  connectionsPerOrigin: 8,
  keepAliveTimeoutMs: 4 * 1000, // 4 s, below common server idle timeouts (5 s)
  connectTimeoutMs: 10 * 1000, // 10 s
});

/**
 * A keep-alive undici `Agent` with bounded connections per origin and no pipelining (a
 * pipelined request would fail with its predecessor). It neither retries (Temporal owns
 * retries) nor follows redirects (a device must not send the update elsewhere): undici's
 * `Agent` does neither unless given interceptors, and none are added.
 */
export function createDispatcher(options: DispatcherOptions): Agent {
  check('connectionsPerOrigin', options.connectionsPerOrigin, 1);
  check('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 1);
  check('connectTimeoutMs', options.connectTimeoutMs, 1);
  return new Agent({
    connections: options.connectionsPerOrigin,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // A device may say how long it keeps idle connections; never keep one longer than ours.
    keepAliveMaxTimeout: options.keepAliveTimeoutMs,
    connect: { timeout: options.connectTimeoutMs },
  });
}

function check(name: keyof DispatcherOptions, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`createDispatcher: ${name} must be a whole number ≥ ${min} (got ${value})`);
  }
}
