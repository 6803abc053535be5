/**
 * `rollout status ID`: a running rollout's live progress (`progressQuery`: counts, wave, pause or
 * wait, live settings, ETA), or a closed one's final report (from its memo, which outlives workers). `--follow` watches until the end and
 * exits with the rollout's code.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { parseFlags, positionals } from '../args.js';
import type { Temporal } from '../config.js';
import { workflowUrl } from '../config.js';
import type { Command } from '../context.js';
import { ExitCode } from '../errors.js';
import { followRollout, printReport } from '../follow.js';
import { queryProgress } from '../live-progress.js';
import type { RolloutOutcome } from '../outcome.js';
import { awaitOutcome, describeRollout, exitCodeOf, reportInMemo } from '../outcome.js';
import { renderSummary } from '../render.js';
import { currentProgress, QUERY_DEADLINE_MS } from '../running.js';

const OPTIONS = {
  json: { type: 'boolean' },
  follow: { type: 'boolean' },
} as const;

export const status: Command = async (argv, context) => {
  const { values, positionals: given } = parseFlags(argv, OPTIONS, 'status');
  const [id = ''] = positionals(given, ['ID'], 'status');
  const json = values.json === true;
  const temporal = await context.temporal();
  const handle = temporal.client.workflow.getHandle(id);
  const description = await describeRollout(handle, temporal.config.temporal.namespace);
  process.stderr.write(`Web UI: ${workflowUrl(temporal.config, id)}\n`);
  if (description.status.name === 'RUNNING') {
    if (values.follow === true) return await followRollout(temporal, handle, json, false);
    const progress = await currentProgress(temporal, handle);
    process.stdout.write(json ? `${JSON.stringify(progress)}\n` : `${renderSummary(progress)}\n`);
    return ExitCode.Ok;
  }
  const report = reportInMemo(description.memo);
  if (!report) return await closedWithoutReport(temporal, handle, json, values.follow === true);
  printReport(report, json);
  return values.follow === true ? exitCodeOf(report.status) : ExitCode.Ok;
};

/**
 * A closed rollout without a memo report (it failed or was terminated before it could write
 * one): how it ended, after the last progress if a worker still answers for it.
 */
async function closedWithoutReport(
  temporal: Temporal,
  handle: WorkflowHandle,
  json: boolean,
  follow: boolean,
): Promise<ExitCode> {
  let outcome: RolloutOutcome;
  try {
    outcome = await awaitOutcome(handle, temporal.config.temporal.namespace);
  } catch (err) {
    const progress = await queryProgress(temporal, handle, QUERY_DEADLINE_MS);
    if (progress && json) process.stdout.write(`${JSON.stringify(progress)}\n`);
    else if (progress) process.stdout.write(`last progress it reported:\n${renderSummary(progress)}\n`);
    throw err;
  }
  printReport(outcome.report, json);
  return follow ? outcome.exitCode : ExitCode.Ok;
}
