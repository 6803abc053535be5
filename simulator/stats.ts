/** What became of one attempt, from the device's side. */
export type AttemptOutcome = 'applied' | 'duplicate' | 'failed' | 'aborted' | 'rejected';

/**
 * The bearer token of an attempt to a device with `requireToken`: `valid`, `missing` (no
 * `authorization: Bearer …` header) or `wrong`; null when the device requires none.
 */
export type TokenCheck = 'valid' | 'missing' | 'wrong' | null;

/** One request to a device, recorded when it ends. */
export interface AttemptRecord {
  deviceId: string;
  /** `idempotency-key` header, or null. */
  key: string | null;
  /** `x-rollout-id` header, or null. */
  rolloutId: string | null;
  /** Request start (headers received), in ms since the epoch. */
  startedAt: number;
  /** Answer sent, connection dropped or client gone, in ms since the epoch. */
  endedAt: number;
  /** Status answered; null when none was (hang, reset, malformed, closeMidBody, aborted). */
  status: number | null;
  /** Body bytes the device took in. */
  bytes: number;
  /** The body matched `content-digest` (sha-256). */
  digestOk: boolean;
  /** The body matched `content-length`. */
  lengthOk: boolean;
  /** The client went away before the device answered. */
  aborted: boolean;
  /** The bearer token the attempt carried, judged against the device's `requireToken`. */
  token: TokenCheck;
  /**
   * `applied`: first successful delivery for its idempotency key; `duplicate`: a later
   * successful one ("already applied"); `failed`: a failure behaviour played; `rejected`: 400
   * for a body that did not match its headers, or 401 for a missing or wrong token
   * (`requireToken`); `aborted`: the client went away first.
   */
  outcome: AttemptOutcome;
}

/** Counters since start or the last reset. */
export interface SimulatorStats {
  devices: number;
  attempts: number;
  applied: number;
  duplicates: number;
  failed: number;
  aborted: number;
  rejected: number;
  /** Distinct devices with at least one applied delivery. */
  devicesApplied: number;
  /** Peak of requests in flight at once. */
  maxConcurrent: number;
  /** Requests in flight now. */
  inFlight: number;
  bytesReceived: number;
  /** Distinct TCP connections accepted. */
  connections: number;
  /** TCP connections open now (a leak check: 0 once clients close their pools). */
  openConnections: number;
  /** Peak of simultaneously open TCP connections. */
  maxOpenConnections: number;
  /** TLS handshakes that failed (HTTPS only): the client did not trust the devices, or vice versa. */
  tlsFailures: number;
  /** `GET /devices/<id>/status` requests answered; never counted as attempts. */
  statusPolls: number;
  /** Attempts by status answered; `none` counts attempts that got no status. */
  byStatus: Record<string, number>;
  /** Start of the first recorded attempt, in ms since the epoch. */
  firstAttemptAt: number | null;
  /** End of the latest recorded attempt, in ms since the epoch. */
  lastAttemptAt: number | null;
}

/** Attempt counters; connection figures come from the connection tracker. */
export type AttemptStats = Omit<
  SimulatorStats,
  'devices' | 'connections' | 'openConnections' | 'maxOpenConnections' | 'tlsFailures'
>;

/**
 * Records attempts and keeps every counter incrementally, so `snapshot()` is O(statuses)
 * however many attempts a benchmark made.
 */
export class AttemptLog {
  readonly attempts: AttemptRecord[] = [];
  private readonly byDevice = new Map<string, AttemptRecord[]>();
  private readonly appliedKeys = new Set<string>();
  private readonly appliedDevices = new Set<string>();
  private readonly byStatus = new Map<number | null, number>();
  private readonly outcomes = { applied: 0, duplicate: 0, failed: 0, aborted: 0, rejected: 0 };
  private generation = 0;
  private inFlight = 0;
  private maxConcurrent = 0;
  private bytesReceived = 0;
  private statusPolls = 0;
  private firstAttemptAt: number | null = null;
  private lastAttemptAt: number | null = null;
  private idleWaiters: (() => void)[] = [];

  /** Counts a request in flight; pass the returned generation to `end`. */
  begin(): number {
    this.inFlight += 1;
    if (this.inFlight > this.maxConcurrent) this.maxConcurrent = this.inFlight;
    return this.generation;
  }

  /** Whether a successful delivery with this idempotency key was already applied. */
  isApplied(key: string | null): boolean {
    return key !== null && this.appliedKeys.has(key);
  }

  /**
   * Ends a request; returns whether it was recorded. A record begun before the last `reset()`
   * only leaves the in-flight gauge: a reset forgets everything that came before it.
   */
  end(record: AttemptRecord, generation: number): boolean {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.notifyIdle();
    if (generation !== this.generation) return false;
    this.attempts.push(record);
    const list = this.byDevice.get(record.deviceId);
    if (list === undefined) this.byDevice.set(record.deviceId, [record]);
    else list.push(record);
    this.count(record);
    return true;
  }

  /** Counts a status poll: answered at once, so neither an attempt nor a request in flight. */
  countStatusPoll(): void {
    this.statusPolls += 1;
  }

  private count(record: AttemptRecord): void {
    this.outcomes[record.outcome] += 1;
    if (record.outcome === 'applied') {
      if (record.key !== null) this.appliedKeys.add(record.key);
      this.appliedDevices.add(record.deviceId);
    }
    this.byStatus.set(record.status, (this.byStatus.get(record.status) ?? 0) + 1);
    this.bytesReceived += record.bytes;
    this.firstAttemptAt ??= record.startedAt;
    if (record.startedAt < this.firstAttemptAt) this.firstAttemptAt = record.startedAt;
    if (this.lastAttemptAt === null || record.endedAt > this.lastAttemptAt)
      this.lastAttemptAt = record.endedAt;
  }

  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Records of one device, oldest end first (a copy). */
  attemptsFor(deviceId: string): AttemptRecord[] {
    return [...(this.byDevice.get(deviceId) ?? [])];
  }

  /** Forgets attempts, applied keys and counters; requests in flight stay counted as such. */
  reset(): void {
    this.generation += 1;
    this.attempts.length = 0;
    this.byDevice.clear();
    this.appliedKeys.clear();
    this.appliedDevices.clear();
    this.byStatus.clear();
    for (const outcome of Object.keys(this.outcomes) as (keyof typeof this.outcomes)[]) {
      this.outcomes[outcome] = 0;
    }
    this.maxConcurrent = this.inFlight;
    this.bytesReceived = 0;
    this.statusPolls = 0;
    this.firstAttemptAt = null;
    this.lastAttemptAt = null;
  }

  /** Current counters. */
  snapshot(): AttemptStats {
    const byStatus: Record<string, number> = {};
    for (const [status, count] of this.byStatus) byStatus[status === null ? 'none' : String(status)] = count;
    return {
      attempts: this.attempts.length,
      applied: this.outcomes.applied,
      duplicates: this.outcomes.duplicate,
      failed: this.outcomes.failed,
      aborted: this.outcomes.aborted,
      rejected: this.outcomes.rejected,
      devicesApplied: this.appliedDevices.size,
      maxConcurrent: this.maxConcurrent,
      inFlight: this.inFlight,
      bytesReceived: this.bytesReceived,
      statusPolls: this.statusPolls,
      byStatus,
      firstAttemptAt: this.firstAttemptAt,
      lastAttemptAt: this.lastAttemptAt,
    };
  }
}
