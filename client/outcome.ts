/**
 * How a rollout ended, as the CLI reports it: the final report and the exit code. A rollout
 * ends three ways with a report — completed (the workflow's result), halted (a `RolloutHalted`
 * workflow failure carrying the report in its details) and cancelled (the report is in the
 * memo, since a cancelled workflow has no result) — and otherwise with an error.
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { RolloutReport, RolloutStatus } from '../workflows/definitions.js';
import { REPORT_MEMO_KEY } from '../workflows/definitions.js';
import { CliError, ExitCode } from './errors.js';

/** Failure type the rollout workflow fails with when it halts. */
export const ROLLOUT_HALTED = 'RolloutHalted';

/** A finished rollout: its report and the exit code it maps to. */
export interface RolloutOutcome {
  report: RolloutReport;
  exitCode: ExitCode;
}

/** Exit code of a rollout that ended with `status`. */
export function exitCodeOf(status: RolloutStatus): ExitCode {
  return status === 'halted' ? ExitCode.Halted : status === 'cancelled' ? ExitCode.Cancelled : ExitCode.Ok;
}

/**
 * Waits for the rollout to end (following continue-as-new) and returns its outcome. Throws
 * `CliError` when it ended without a report (terminated, timed out, failed for another reason)
 * or does not exist.
 */
export async function awaitOutcome(handle: WorkflowHandle, namespace: string): Promise<RolloutOutcome> {
  try {
    const report = (await handle.result()) as RolloutReport;
    return { report, exitCode: exitCodeOf(report.status) };
  } catch (err) {
    return await outcomeOfError(handle, namespace, err);
  }
}

async function outcomeOfError(
  handle: WorkflowHandle,
  namespace: string,
  err: unknown,
): Promise<RolloutOutcome> {
  const id = handle.workflowId;
  if (err instanceof WorkflowNotFoundError) throw notFound(id, namespace);
  if (!(err instanceof WorkflowFailedError)) throw err;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === ROLLOUT_HALTED && isReport(cause.details?.[0])) {
    return { report: cause.details[0], exitCode: ExitCode.Halted };
  }
  if (cause instanceof CancelledFailure) {
    const report = await memoReport(handle);
    if (report) return { report, exitCode: ExitCode.Cancelled };
    throw new CliError(`rollout "${id}" was cancelled before it could report`, {
      exitCode: ExitCode.Cancelled,
    });
  }
  if (cause instanceof TerminatedFailure) {
    throw new CliError(`rollout "${id}" was terminated${cause.message ? `: ${cause.message}` : ''}`);
  }
  if (cause instanceof TimeoutFailure) throw new CliError(`rollout "${id}" timed out (${cause.message})`);
  const type = cause instanceof ApplicationFailure && cause.type ? ` (${cause.type})` : '';
  throw new CliError(`rollout "${id}" failed${type}: ${cause?.message ?? err.message}`);
}

/** The report a closed rollout keeps in its memo, if it got that far. */
export async function memoReport(handle: WorkflowHandle): Promise<RolloutReport | undefined> {
  return reportInMemo((await handle.describe()).memo);
}

/** The report in a rollout's (decoded) memo, if any. */
export function reportInMemo(memo: Record<string, unknown> | undefined): RolloutReport | undefined {
  const report = memo?.[REPORT_MEMO_KEY];
  return isReport(report) ? report : undefined;
}

/** Whether `value` looks like a `RolloutReport` (a payload from the server is untyped). */
export function isReport(value: unknown): value is RolloutReport {
  const r = value as Partial<RolloutReport> | null | undefined;
  return (
    typeof r === 'object' && r !== null && typeof r.rolloutId === 'string' && typeof r.status === 'string'
  );
}

/** `no rollout "X" in namespace "N"`. */
export function notFound(id: string, namespace: string): CliError {
  return new CliError(`no rollout "${id}" in namespace "${namespace}"`);
}

/** The rollout's description (latest run); `CliError` `no rollout "X"` when there is none. */
export async function describeRollout(
  handle: WorkflowHandle,
  namespace: string,
): Promise<WorkflowExecutionDescription> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(handle.workflowId, namespace);
    throw err;
  }
}
