import { SimulatorError, SimulatorErrorCode } from './errors.js';
import { Draw, random01 } from './random.js';

/**
 * How a device fails an attempt:
 * - `status`: answers `status` (3xx with a `location` header);
 * - `retryAfter`: answers 429/503 with `retry-after`;
 * - `hang`: reads the body and never answers;
 * - `reset`: reads the body, then resets the TCP connection (RST);
 * - `malformed`: reads the body, then writes a line that is not HTTP and closes;
 * - `closeMidBody`: closes the connection after about half of the body (partial delivery);
 * - `applyThenReset`: applies a valid delivery, then resets instead of answering (answer lost).
 */
export const FailureMode = {
  status: 'status',
  retryAfter: 'retryAfter',
  hang: 'hang',
  reset: 'reset',
  malformed: 'malformed',
  closeMidBody: 'closeMidBody',
  applyThenReset: 'applyThenReset',
} as const;
export type FailureMode = (typeof FailureMode)[keyof typeof FailureMode];

/** One way a device fails, and on which attempts. */
export interface FailureSpec {
  mode: FailureMode;
  /** Status for `status` (any code; default 500) and `retryAfter` (429 or 503; default 429). */
  status?: number;
  /** Value of `retry-after` for `retryAfter`, in seconds (default 1). */
  retryAfterS?: number;
  /** Fail only the first N attempts of the device, then behave ok; undefined = every attempt. */
  firstAttempts?: number;
  /** 0..1: each eligible attempt fails with this probability (seeded); default 1. */
  probability?: number;
}

/**
 * When an applied update shows on the device's status endpoint (`GET /devices/<id>/status`).
 * Accepting a body and running it are not the same moment on a real device (it may reboot
 * first, or fail to boot the new version); verified completion exists to observe that gap.
 */
export interface ConfirmSpec {
  /** The status reports an applied body's digest only this long after it was applied, in ms (default 0). */
  delayMs?: number;
  /** Never report a newly applied body: the status keeps its previous digest (or none). */
  never?: boolean;
}

/** How one device answers. The default (`{}`) applies every valid delivery at once. */
export interface DeviceBehavior {
  /** Delay before answering, after the body is read, in ms: fixed or uniform in [min, max]. */
  latencyMs?: number | [number, number];
  failure?: FailureSpec;
  /** When applied updates show on the status endpoint (fixed as each is applied); default: at once. */
  confirm?: ConfirmSpec;
  /**
   * The bearer token the device requires: a push or status poll without
   * `authorization: Bearer <requireToken>` is answered 401 before anything else is played.
   * Attempts record whether the token was valid, missing or wrong — never the token itself.
   */
  requireToken?: string;
}

const modes = new Set<string>(Object.values(FailureMode));

function fail(what: string, message: string): never {
  throw new SimulatorError(SimulatorErrorCode.badBehavior, `${what}: ${message}`);
}

function isNonNegative(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

function validateLatency(latency: DeviceBehavior['latencyMs'], what: string): void {
  if (latency === undefined) return;
  if (typeof latency === 'number') {
    if (!isNonNegative(latency)) fail(what, `latencyMs must be a number >= 0, got ${latency}`);
    return;
  }
  const [min, max] = latency;
  if (!isNonNegative(min) || !isNonNegative(max) || min > max) {
    fail(what, `latencyMs range must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
  }
}

function validateFailure(failure: FailureSpec | undefined, what: string): void {
  if (failure === undefined) return;
  if (!modes.has(failure.mode)) {
    fail(what, `unknown failure mode "${failure.mode}"; use one of ${[...modes].join(', ')}`);
  }
  const { status, retryAfterS, firstAttempts, probability } = failure;
  if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 999)) {
    fail(what, `status must be an integer in 100..999, got ${status}`);
  }
  if (retryAfterS !== undefined && !(Number.isInteger(retryAfterS) && retryAfterS >= 0)) {
    fail(what, `retryAfterS must be an integer >= 0, got ${retryAfterS}`);
  }
  if (firstAttempts !== undefined && !(Number.isInteger(firstAttempts) && firstAttempts >= 0)) {
    fail(what, `firstAttempts must be an integer >= 0, got ${firstAttempts}`);
  }
  if (probability !== undefined && !(probability >= 0 && probability <= 1)) {
    fail(what, `probability must be in 0..1, got ${probability}`);
  }
}

function validateConfirm(confirm: ConfirmSpec | undefined, what: string): void {
  if (confirm === undefined) return;
  const { delayMs, never } = confirm;
  if (delayMs !== undefined && !isNonNegative(delayMs)) {
    fail(what, `confirm.delayMs must be a number >= 0, got ${delayMs}`);
  }
  if (never !== undefined && typeof never !== 'boolean') {
    fail(what, `confirm.never must be true or false, got ${String(never)}`);
  }
}

/**
 * Checks a behaviour where it enters the simulator.
 * @throws SimulatorError (`ERR_SIM_BAD_BEHAVIOR`) naming `what` and the bad field.
 */
export function validateBehavior(behavior: DeviceBehavior, what: string): void {
  const { requireToken } = behavior;
  if (
    requireToken !== undefined &&
    !(typeof requireToken === 'string' && /^[\x21-\x7e]+$/.test(requireToken))
  ) {
    fail(what, 'requireToken must be a non-empty string of visible ASCII characters (a bearer token)');
  }
  validateLatency(behavior.latencyMs, what);
  validateFailure(behavior.failure, what);
  validateConfirm(behavior.confirm, what);
}

/**
 * The failure to play on the `attempt`-th (1-based) attempt of the device at `index`, or
 * undefined when this attempt behaves ok.
 */
export function failureFor(
  behavior: DeviceBehavior,
  seed: number,
  index: number,
  attempt: number,
): FailureSpec | undefined {
  const failure = behavior.failure;
  if (failure === undefined) return undefined;
  if (failure.firstAttempts !== undefined && attempt > failure.firstAttempts) return undefined;
  const probability = failure.probability ?? 1;
  if (probability >= 1) return failure;
  return random01(seed, index, attempt, Draw.failure) < probability ? failure : undefined;
}

/** The delay before answering the `attempt`-th attempt of the device at `index`, in ms. */
export function latencyFor(behavior: DeviceBehavior, seed: number, index: number, attempt: number): number {
  const latency = behavior.latencyMs;
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return latency;
  const [min, max] = latency;
  return min + random01(seed, index, attempt, Draw.latency) * (max - min);
}
