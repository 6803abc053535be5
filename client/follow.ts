/**
 * Following a rollout to its end (`start --wait`, `status --follow`): live progress on stderr
 * while waiting for the result, then the final report on stdout and the exit code it maps to.
 * Ctrl-C only stops watching: the rollout is durable and keeps running.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { RolloutReport } from '../workflows/definitions.js';
import type { Temporal } from './config.js';
import { workflowUrl } from './config.js';
import type { ExitCode } from './errors.js';
import { showProgress } from './live-progress.js';
import { awaitOutcome } from './outcome.js';
import { renderReport } from './render.js';

/** Exit status of a process stopped by Ctrl-C (128 + SIGINT), what a shell reports anyway. */
const INTERRUPTED = 130;

/** Waits for the rollout to end while showing its progress; prints the report; returns the exit code. */
export async function followRollout(
  temporal: Temporal,
  handle: WorkflowHandle,
  json: boolean,
  /** Print the Web UI link after the report (`status` already printed it). */
  showUrl = true,
): Promise<ExitCode> {
  const stop = new AbortController();
  const onInterrupt = (): void => {
    stop.abort();
    process.stderr.write(
      `${process.stderr.isTTY ? '\r\x1b[2K' : ''}stopped watching; rollout ${handle.workflowId} keeps running ` +
        `(\`rollout status ${handle.workflowId} --follow\` to watch again, \`rollout cancel ${handle.workflowId}\` to cancel it)\n`,
    );
    process.exit(INTERRUPTED);
  };
  process.once('SIGINT', onInterrupt);
  const display = showProgress(temporal, handle, process.stderr, stop.signal);
  try {
    const outcome = await awaitOutcome(handle, temporal.config.temporal.namespace);
    stop.abort();
    await display;
    printReport(outcome.report, json);
    if (showUrl) process.stderr.write(`Web UI: ${workflowUrl(temporal.config, handle.workflowId)}\n`);
    return outcome.exitCode;
  } finally {
    stop.abort();
    await display;
    process.off('SIGINT', onInterrupt);
  }
}

/** The report on stdout: human text, or one JSON line with `--json`. */
export function printReport(report: RolloutReport, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${renderReport(report)}\n`);
}
