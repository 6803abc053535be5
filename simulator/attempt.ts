import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { failureFor, latencyFor, type DeviceBehavior, type FailureSpec } from './behavior.js';
import { BodyMeter, sha256FromContentDigest } from './digest.js';
import type { DeviceStatus } from './device-status.js';
import type { AttemptLog, AttemptOutcome, TokenCheck } from './stats.js';

/** One simulated device: its behaviour and how many attempts it has seen. */
export interface DeviceState {
  readonly id: string;
  readonly index: number;
  behavior: DeviceBehavior;
  /** Attempts since start or the last reset; drives `firstAttempts`. */
  attempts: number;
  /** What its status endpoint reports; fed by the attempts that apply. */
  readonly status: DeviceStatus;
}

/** What an attempt needs from the simulator around it. */
export interface AttemptContext {
  readonly log: AttemptLog;
  readonly seed: number;
}

const json = { 'content-type': 'application/json' };
const appliedBody = Buffer.from('{"status":"applied"}');
const duplicateBody = Buffer.from('{"status":"already-applied"}');
const malformedAnswer = 'NOT HTTP RESPONSE\r\n\r\n';

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}

/** The request's bearer token judged against the device's `requireToken` (null: none required). */
export function tokenCheck(behavior: DeviceBehavior, req: IncomingMessage): TokenCheck {
  if (behavior.requireToken === undefined) return null;
  const authorization = header(req, 'authorization');
  if (authorization === null || !/^Bearer /i.test(authorization)) return 'missing';
  return authorization.slice(7) === behavior.requireToken ? 'valid' : 'wrong';
}

function send(res: ServerResponse, status: number, body: Buffer | string, extra?: OutgoingHttpHeaders): void {
  const bodyless = status === 204 || status === 304;
  res.writeHead(status, { ...json, 'content-length': bodyless ? 0 : Buffer.byteLength(body), ...extra });
  res.end(bodyless ? undefined : body);
}

/**
 * One request to a device: reads the body as a stream (hashing and counting it), waits the
 * device's latency, then answers or fails as its behaviour says, and records exactly one
 * `AttemptRecord` — whichever of answer, self-inflicted drop or client abort comes first.
 */
export class DeviceAttempt {
  private readonly startedAt = Date.now();
  private readonly generation: number;
  private readonly failure: FailureSpec | undefined;
  private readonly attempt: number;
  private readonly meter = new BodyMeter();
  private readonly token: TokenCheck;
  private rejection: string | null = 'body not verified';
  /** The `content-digest` sha-256 (base64) the request announced. */
  private announcedDigest: string | null = null;
  private digestOk = false;
  private lengthOk = false;
  private settled = false;

  constructor(
    private readonly context: AttemptContext,
    private readonly device: DeviceState,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    device.attempts += 1;
    this.attempt = device.attempts;
    this.failure = failureFor(device.behavior, context.seed, device.index, this.attempt);
    this.token = tokenCheck(device.behavior, req);
    this.generation = context.log.begin();
  }

  /** Starts reading the request; the attempt runs to its end from here. */
  run(): void {
    this.res.once('close', () => this.finish('aborted', null));
    this.req.on('error', () => this.finish('aborted', null));
    const authorized = this.token === null || this.token === 'valid';
    if (this.failure?.mode === 'closeMidBody' && authorized) {
      this.readPart();
      return;
    }
    this.req.on('data', (chunk: Buffer) => this.meter.update(chunk));
    this.req.once('end', () => this.onBody());
  }

  private expectedLength(): number | null {
    const value = header(this.req, 'content-length');
    return value === null ? null : Number(value);
  }

  /** Partial delivery: drops the connection once about half of the body came in. */
  private readPart(): void {
    const expected = this.expectedLength() ?? 2;
    const threshold = Math.max(1, Math.floor(expected / 2));
    const drop = (): void => {
      this.finish('failed', null);
      this.req.socket.destroy();
    };
    this.req.on('data', (chunk: Buffer) => {
      if (this.settled) return;
      this.meter.update(chunk.subarray(0, threshold - this.meter.bytes));
      if (this.meter.bytes >= threshold) drop();
    });
    this.req.once('end', drop);
  }

  private onBody(): void {
    this.verify();
    const delay = latencyFor(this.device.behavior, this.context.seed, this.device.index, this.attempt);
    if (delay > 0) setTimeout(() => this.answer(), delay).unref();
    else this.answer();
  }

  private verify(): void {
    const expectedLength = this.expectedLength();
    const expectedDigest = sha256FromContentDigest(header(this.req, 'content-digest'));
    this.announcedDigest = expectedDigest;
    this.lengthOk = expectedLength !== null && expectedLength === this.meter.bytes;
    this.digestOk = expectedDigest !== null && expectedDigest === this.meter.digest();
    this.rejection = this.rejectionReason(expectedLength, expectedDigest);
  }

  /** Why a complete body cannot be applied, or null when it matches its headers. */
  private rejectionReason(expectedLength: number | null, expectedDigest: string | null): string | null {
    if (expectedLength === null) return 'missing content-length';
    if (!this.lengthOk) return `body has ${this.meter.bytes} bytes, content-length says ${expectedLength}`;
    if (expectedDigest === null) return 'missing content-digest (sha-256=:<base64>:)';
    if (!this.digestOk) return 'body does not match content-digest';
    return null;
  }

  private answer(): void {
    if (this.settled) return;
    if (this.token !== null && this.token !== 'valid') return this.unauthorized();
    const failure = this.failure;
    if (failure === undefined) return this.deliver();
    switch (failure.mode) {
      case 'status':
        return this.failWith(failure.status ?? 500);
      case 'retryAfter':
        return this.failWith(failure.status ?? 429, { 'retry-after': String(failure.retryAfterS ?? 1) });
      case 'hang':
        return;
      case 'reset':
        this.finish('failed', null);
        this.req.socket.resetAndDestroy();
        return;
      case 'malformed':
        this.finish('failed', null);
        this.req.socket.end(malformedAnswer);
        return;
      case 'applyThenReset':
        return this.applyThenReset();
      case 'closeMidBody':
        return;
    }
  }

  /** A valid delivery: applied, or "already applied" for a key seen before. */
  private deliver(): void {
    if (this.rejection !== null) return this.reject(this.rejection);
    const duplicate = this.context.log.isApplied(this.key());
    this.finish(duplicate ? 'duplicate' : 'applied', 200);
    send(this.res, 200, duplicate ? duplicateBody : appliedBody);
  }

  /** Applies, then loses the answer; only the delivery that applies loses it. */
  private applyThenReset(): void {
    if (this.rejection !== null || this.context.log.isApplied(this.key())) return this.deliver();
    this.finish('applied', null);
    this.req.socket.resetAndDestroy();
  }

  private reject(reason: string): void {
    this.finish('rejected', 400);
    send(this.res, 400, JSON.stringify({ status: 'rejected', reason }));
  }

  /** 401 for a missing or wrong bearer token, before any failure behaviour plays. */
  private unauthorized(): void {
    this.finish('rejected', 401);
    send(this.res, 401, JSON.stringify({ status: 'unauthorized', token: this.token }), {
      'www-authenticate': 'Bearer',
    });
  }

  private failWith(status: number, extra?: OutgoingHttpHeaders): void {
    this.finish('failed', status);
    const location =
      status >= 300 && status < 400
        ? { location: `/devices/${encodeURIComponent(this.device.id)}/moved` }
        : {};
    send(this.res, status, JSON.stringify({ status: 'failed', code: status }), { ...location, ...extra });
  }

  private key(): string | null {
    return header(this.req, 'idempotency-key');
  }

  private finish(outcome: AttemptOutcome, status: number | null): void {
    if (this.settled) return;
    this.settled = true;
    const record = {
      deviceId: this.device.id,
      key: this.key(),
      rolloutId: header(this.req, 'x-rollout-id'),
      startedAt: this.startedAt,
      endedAt: Date.now(),
      status,
      bytes: this.meter.bytes,
      digestOk: this.digestOk,
      lengthOk: this.lengthOk,
      aborted: outcome === 'aborted',
      token: this.token,
      outcome,
    };
    const recorded = this.context.log.end(record, this.generation);
    // Only a body that matched its digest is applied, so the announced digest is the body's.
    if (recorded && outcome === 'applied' && this.announcedDigest !== null) {
      this.device.status.apply(
        `sha-256=:${this.announcedDigest}:`,
        this.device.behavior.confirm,
        record.endedAt,
      );
    }
  }
}
