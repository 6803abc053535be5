import type { ConfirmSpec } from './behavior.js';

/** The body of `GET /devices/<id>/status`. */
export interface DeviceStatusReport {
  id: string;
  /** `sha-256=:<base64>:` of the update the device runs, or null before any shows. */
  digest: string | null;
  /** Deliveries the device applied (a duplicate is not applied again), since start or reset. */
  applied: number;
}

/**
 * The version a device runs, as its status endpoint reports it. An applied body becomes the
 * running version `confirm.delayMs` after it was applied, or never with `confirm.never`; the
 * schedule is fixed when the body is applied, as a device decides then whether it will boot it.
 * Evaluated when polled or applied, not by timers: a million idle devices cost no timer each.
 */
export class DeviceStatus {
  private running: string | null = null;
  private pending: { digest: string; runsAt: number } | undefined;
  private appliedCount = 0;

  /** Records a body applied at `now` (ms since the epoch) under the device's `confirm` behaviour. */
  apply(digest: string, confirm: ConfirmSpec | undefined, now: number): void {
    this.promote(now);
    this.appliedCount += 1;
    const runsAt = confirm?.never === true ? Infinity : now + (confirm?.delayMs ?? 0);
    this.pending = { digest, runsAt };
    this.promote(now);
  }

  /** What the device reports at `now`. */
  report(id: string, now: number): DeviceStatusReport {
    this.promote(now);
    return { id, digest: this.running, applied: this.appliedCount };
  }

  /** Forgets every applied body: the device reports none again. */
  reset(): void {
    this.running = null;
    this.pending = undefined;
    this.appliedCount = 0;
  }

  private promote(now: number): void {
    if (this.pending === undefined || now < this.pending.runsAt) return;
    this.running = this.pending.digest;
    this.pending = undefined;
  }
}
