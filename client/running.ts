/**
 * A rollout a command acts on while it runs: its handle once it is known to be running (a
 * message naming its final status otherwise), and its progress (a message naming the task queue
 * when no worker answers).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { RolloutProgress } from '../workflows/definitions.js';
import type { Temporal } from './config.js';
import { CliError } from './errors.js';
import { queryProgress } from './live-progress.js';
import { describeRollout, reportInMemo } from './outcome.js';

/** How long a command waits for a worker to answer the progress query. */
export const QUERY_DEADLINE_MS = 10_000; // 10 s

/**
 * The handle of rollout `id`, checked to be running. Throws `CliError`: `no rollout "X"`, or
 * `rollout "X" already ended (completed); there is nothing to <verb>`.
 */
export async function runningRollout(temporal: Temporal, id: string, verb: string): Promise<WorkflowHandle> {
  const handle = temporal.client.workflow.getHandle(id);
  const description = await describeRollout(handle, temporal.config.temporal.namespace);
  if (description.status.name === 'RUNNING') return handle;
  const ended = reportInMemo(description.memo)?.status ?? description.status.name.toLowerCase();
  throw alreadyEnded(id, ended, verb);
}

/** `rollout "X" already ended (how); there is nothing to <verb>`. */
export function alreadyEnded(id: string, how: string, verb: string): CliError {
  return new CliError(`rollout "${id}" already ended (${how}); there is nothing to ${verb}`);
}

/** The progress of a running rollout; `CliError` saying what to check when no worker answers. */
export async function currentProgress(
  temporal: Temporal,
  handle: WorkflowHandle,
  deadlineMs = QUERY_DEADLINE_MS,
): Promise<RolloutProgress> {
  const progress = await queryProgress(temporal, handle, deadlineMs);
  if (progress) return progress;
  throw new CliError(
    `rollout "${handle.workflowId}" is running but did not answer the progress query — ` +
      `is a worker polling task queue "${temporal.config.temporal.taskQueue}"? (\`npm run worker\`), ` +
      'or is it still freezing its fleet? Try again shortly',
  );
}
