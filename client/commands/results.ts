/**
 * `rollout results ID`: every device's final outcome as NDJSON, for any fleet size. No
 * fleet-sized list travels through Temporal: each batch child workflow's result holds its own
 * slice, and the devices of batches that never started are read from the frozen fleet. Batches
 * are fetched a few at a time and written in order as they arrive, so 100,000 devices stream
 * through a bounded amount of memory.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { BatchResult, DeviceOutcome, RolloutProgress } from '../../workflows/definitions.js';
import type { DeviceTarget } from '../../shared/types.js';
import { decodeBatchResult } from '../../workflows/batch-result.js';
import { batchRange, makePlan } from '../../workflows/plan.js';
import { batchWorkflowId, DeviceOutcomeKind } from '../../workflows/definitions.js';
import { parseFlags, positionals } from '../args.js';
import type { Temporal } from '../config.js';
import type { Command } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { queryProgress } from '../live-progress.js';
import { awaitOutcome, describeRollout, reportInMemo } from '../outcome.js';
import { FrozenFleetReader } from '../frozen-fleet.js';

/** Batches fetched at once (each a describe and a result of up to 1,000 outcomes). */
const CONCURRENT_BATCHES = 8;
const QUERY_DEADLINE_MS = 10_000; // 10 s

/** What `results` needs from a report or progress: the batch layout and the frozen fleet. */
type Layout = Pick<RolloutProgress, 'rolloutId' | 'total' | 'batchSize' | 'batches' | 'fleet' | 'plan'>;

export const results: Command = async (argv, context) => {
  const { positionals: given } = parseFlags(argv, {}, 'results');
  const [id = ''] = positionals(given, ['ID'], 'results');
  const temporal = await context.temporal();
  const layout = await layoutOf(temporal, temporal.client.workflow.getHandle(id));
  const fleet = new FrozenFleetReader(layout.fleet, temporal.config.dataDir);
  const pending: Array<Promise<string>> = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < CONCURRENT_BATCHES && next < layout.batches.total) {
      const text = batchLines(temporal, layout, fleet, next++);
      text.catch(() => undefined); // awaited in order below; do not let it reject unobserved
      pending.push(text);
    }
  };
  fill();
  while (pending.length > 0) {
    const text = await pending.shift()!;
    fill();
    if (text !== '') await write(text);
  }
  return ExitCode.Ok;
};

/** Batch layout from the memo report (closed) or the progress query (running). */
async function layoutOf(temporal: Temporal, handle: WorkflowHandle): Promise<Layout> {
  const description = await describeRollout(handle, temporal.config.temporal.namespace);
  const report = reportInMemo(description.memo);
  if (report) return report;
  const progress = await queryProgress(temporal, handle, QUERY_DEADLINE_MS);
  if (progress) return progress;
  if (description.status.name === 'RUNNING') {
    throw new CliError(
      `rollout "${handle.workflowId}" did not answer the progress query — is a worker polling task queue ` +
        `"${temporal.config.temporal.taskQueue}"? (\`npm run worker\`), or is it still freezing its fleet?`,
    );
  }
  // Ended without a report: say how (awaitOutcome throws the reason).
  const outcome = await awaitOutcome(handle, temporal.config.temporal.namespace);
  return outcome.report;
}

/**
 * The devices of batch `n`: from the plan (waves cut batches short), or, for rollouts started
 * before plans were reported, `[n * batchSize, (n + 1) * batchSize)`.
 */
export function deviceRange(layout: Layout, n: number): { start: number; count: number } {
  return batchRange(layout.plan ?? makePlan(layout.total, layout.batchSize), n);
}

/** The NDJSON lines of batch `n` ('' when it has none to give yet). */
async function batchLines(
  temporal: Temporal,
  layout: Layout,
  fleet: FrozenFleetReader,
  n: number,
): Promise<string> {
  const handle = temporal.client.workflow.getHandle(batchWorkflowId(layout.rolloutId, n));
  const { start, count } = deviceRange(layout, n);
  let state: string;
  try {
    state = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return await notAttempted(fleet, n, start, count);
    throw err;
  }
  if (state === 'RUNNING') {
    warn(`batch ${n} still running; its devices are not listed yet`);
    return '';
  }
  if (state === 'FAILED') {
    // A batch fails only when it could not load its devices, before any push.
    warn(`batch ${n} failed before pushing; its devices are listed as notAttempted`);
    return await notAttempted(fleet, n, start, count);
  }
  if (state !== 'COMPLETED') {
    warn(`batch ${n} ended ${state}; the outcomes of its ${count} devices are unknown`);
    return '';
  }
  const result = (await handle.result()) as BatchResult;
  return await completedLines(result, fleet, n, start, count);
}

/**
 * Lines of a completed batch. A device whose id the batch does not know (its slice could not
 * be loaded) is named from the frozen fleet, or given as a range.
 */
async function completedLines(
  result: BatchResult,
  fleet: FrozenFleetReader,
  n: number,
  start: number,
  count: number,
): Promise<string> {
  const outcomes: ReadonlyArray<DeviceOutcome | undefined> =
    result.deviceIds.length === 0 ? [] : decodeBatchResult(result);
  let devices: DeviceTarget[] | undefined;
  let lines = '';
  let unnamed: { start: number; count: number } | undefined;
  const flush = (): void => {
    if (unnamed) lines += rangeLine(n, unnamed.start, unnamed.count);
    unnamed = undefined;
  };
  for (let i = 0; i < Math.max(count, outcomes.length); i++) {
    const outcome = outcomes[i];
    const device = outcome ? undefined : (devices ??= (await fleet.slice(start, count)) ?? [])[i];
    if (outcome || device) flush();
    if (outcome) lines += outcomeLine(outcome, n);
    else if (device) lines += notAttemptedLine(device.id, n);
    else if (unnamed) unnamed.count += 1;
    else unnamed = { start: start + i, count: 1 };
  }
  flush();
  return lines;
}

/** Devices of a batch that never pushed: named from the frozen fleet, or as a range when it is not readable here. */
async function notAttempted(
  fleet: FrozenFleetReader,
  batch: number,
  start: number,
  count: number,
): Promise<string> {
  if (count === 0) return '';
  const devices = await fleet.slice(start, count);
  if (devices === undefined) return rangeLine(batch, start, count);
  return devices.map((d) => notAttemptedLine(d.id, batch)).join('');
}

function notAttemptedLine(deviceId: string, batch: number): string {
  return outcomeLine({ deviceId, outcome: DeviceOutcomeKind.NotAttempted, attempts: 0 }, batch);
}

/** Devices not attempted, known only by their place in the frozen fleet. */
function rangeLine(batch: number, start: number, count: number): string {
  return `${JSON.stringify({ batch, start, count, outcome: DeviceOutcomeKind.NotAttempted })}\n`;
}

/** One NDJSON line, fields in contract order. */
export function outcomeLine(o: DeviceOutcome, batch: number): string {
  return `${JSON.stringify({
    deviceId: o.deviceId,
    outcome: o.outcome,
    attempts: o.attempts,
    ...(o.status === undefined ? {} : { status: o.status }),
    ...(o.errorType === undefined ? {} : { errorType: o.errorType }),
    ...(o.message === undefined ? {} : { message: o.message }),
    batch,
  })}\n`;
}

function warn(message: string): void {
  process.stderr.write(`rollout results: ${message}\n`);
}

/** Writes to stdout, waiting for it to drain when the reader is slower than we are. */
function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(text, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}
