/**
 * What happened to every device of a rollout, from both sides: the engine's final outcome
 * (each batch child's result, as `rollout results` reads it) and the deliveries the simulated
 * device recorded. Fault tests hold the two against each other device by device.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { expect } from 'vitest';
import type { AttemptRecord, DeviceSimulator } from '../../simulator/index.js';
import { decodeBatchResult } from '../../workflows/batch-result.js';
import type { BatchResult, DeviceOutcomeKind, RolloutReport } from '../../workflows/definitions.js';
import { batchWorkflowId } from '../../workflows/definitions.js';

/** One device, as the engine reports it and as the device saw it. */
export interface DeviceAudit {
  deviceId: string;
  /** The engine's final outcome; `notAttempted` for devices of batches that never started. */
  outcome: DeviceOutcomeKind;
  /** Attempts the engine counted (null when unknown or never attempted). */
  attempts: number | null;
  errorType: string | undefined;
  /** Every request the device recorded, in end order (blackholed requests are not recorded). */
  records: AttemptRecord[];
  /** Records that applied the update (first successful delivery of its idempotency key). */
  applied: number;
  /** Records answered "already applied" (a later delivery with a key already applied). */
  duplicates: number;
}

/** Audits every device of `sim` for the rollout `report` describes. */
export async function auditDevices(
  client: Client,
  report: RolloutReport,
  sim: DeviceSimulator,
): Promise<Map<string, DeviceAudit>> {
  const engine = new Map<
    string,
    { outcome: DeviceOutcomeKind; attempts: number | null; errorType?: string }
  >();
  for (let batch = 0; batch < report.batches.total; batch++) {
    const handle = client.workflow.getHandle(batchWorkflowId(report.rolloutId, batch));
    let result: BatchResult;
    try {
      result = (await handle.result()) as BatchResult;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue; // never started: its devices were not attempted
      throw err;
    }
    for (const device of decodeBatchResult(result)) if (device) engine.set(device.deviceId, device);
  }
  const audits = new Map<string, DeviceAudit>();
  for (const deviceId of sim.ids) {
    const known = engine.get(deviceId);
    const records = sim.attemptsFor(deviceId);
    audits.set(deviceId, {
      deviceId,
      outcome: known?.outcome ?? 'notAttempted',
      attempts: known?.attempts ?? null,
      errorType: known?.errorType,
      records,
      applied: records.filter((r) => r.outcome === 'applied').length,
      duplicates: records.filter((r) => r.outcome === 'duplicate').length,
    });
  }
  return audits;
}

/** Audits grouped by the engine's outcome. */
export function byOutcome(audits: Map<string, DeviceAudit>): Record<DeviceOutcomeKind, DeviceAudit[]> {
  const groups: Record<DeviceOutcomeKind, DeviceAudit[]> = {
    succeeded: [],
    failed: [],
    aborted: [],
    notAttempted: [],
  };
  for (const audit of audits.values()) groups[audit.outcome].push(audit);
  return groups;
}

/**
 * The invariants every rollout keeps whatever the fault, device by device: the engine's
 * counts match its per-device outcomes; a device applied the update at most once; succeeded
 * means applied, failed or not attempted means not applied (a device whose push was aborted by
 * a halt may or may not have applied it: its answer was cut off); every delivery carried the
 * rollout's idempotency key for that device; "already applied" only ever follows an applied
 * delivery; a device not attempted received nothing.
 */
export function expectEveryDeviceAccountedFor(audits: Map<string, DeviceAudit>, report: RolloutReport): void {
  const groups = byOutcome(audits);
  expect({
    total: audits.size,
    succeeded: groups.succeeded.length,
    failed: groups.failed.length,
    aborted: groups.aborted.length,
    notAttempted: groups.notAttempted.length,
  }).toEqual({
    total: report.total,
    succeeded: report.succeeded,
    failed: report.failed,
    aborted: report.aborted,
    notAttempted: report.notAttempted,
  });
  for (const audit of audits.values()) {
    const { deviceId, outcome, records, applied } = audit;
    const where = `device ${deviceId} (${outcome}, records ${records.map((r) => r.outcome).join(',')})`;
    expect(applied, where).toBeLessThanOrEqual(1);
    if (outcome === 'succeeded') expect(applied, where).toBe(1);
    if (outcome === 'failed' || outcome === 'notAttempted') expect(applied, where).toBe(0);
    if (outcome === 'notAttempted') expect(records, where).toEqual([]);
    // An aborted device's attempt count, when known, counts every attempt that reached it.
    if (outcome === 'aborted' && audit.attempts !== null)
      expect(records.length, where).toBeLessThanOrEqual(audit.attempts);
    for (const record of records) {
      expect(record.key, where).toBe(`${report.rolloutId}:${deviceId}`);
      expect(record.rolloutId, where).toBe(report.rolloutId);
    }
    const firstApplied = records.findIndex((r) => r.outcome === 'applied');
    records.forEach((record, i) => {
      if (record.outcome === 'duplicate') expect(firstApplied, where).toBeGreaterThanOrEqual(0);
      if (record.outcome === 'duplicate') expect(i, where).toBeGreaterThan(firstApplied);
    });
  }
}

/** `{ succeeded: n, … }` of the audits, for a results table. */
export function outcomeCounts(audits: Map<string, DeviceAudit>): Record<string, number> {
  const groups = byOutcome(audits);
  return Object.fromEntries(Object.entries(groups).map(([kind, list]) => [kind, list.length]));
}
