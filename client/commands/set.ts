/**
 * `rollout set ID [--rate N] [--max-in-flight N] [--failure-threshold R]`: changes a running
 * rollout's live settings with `setUpdate`. The flags are read by the same parsers as `start`
 * and checked locally first; the rollout's own validator has the last word, and a change it
 * refuses leaves everything as it was (a rejected update writes no history event).
 */
import type { WorkflowHandle } from '@temporalio/client';
import {
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
} from '@temporalio/client';
import type { SettingsChange, SettingsChangeResult } from '../../workflows/definitions.js';
import { setUpdate } from '../../workflows/definitions.js';
import { applyChange, withDefaults } from '../../workflows/settings.js';
import type { FlagProblem } from '../args.js';
import { parseFlags, positionals, problemLine } from '../args.js';
import type { Temporal } from '../config.js';
import type { Command } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { liveText } from '../render.js';
import { runningRollout } from '../running.js';
import type { FlagValues } from '../settings-flags.js';
import { flagOptions, flagOrder, LIVE_FLAGS, readFlags, toFlagProblem } from '../settings-flags.js';

const UPDATE_DEADLINE_MS = 15_000; // 15 s for a worker to run the update's validator and handler

/** The change `rollout set` was asked for; throws `CliError` with one line per bad flag. */
export function parseSetArgs(argv: readonly string[]): { id: string; change: SettingsChange } {
  const { values, positionals: given } = parseFlags(argv, flagOptions(LIVE_FLAGS), 'set');
  const [id = ''] = positionals(given, ['ID'], 'set');
  const flagValues = values as FlagValues;
  if (LIVE_FLAGS.every((f) => flagValues[f.name] === undefined)) {
    throw new CliError(
      `nothing to change — give at least one of ${LIVE_FLAGS.map((f) => `--${f.name}`).join(', ')} ` +
        '(usage: rollout set ID [--rate N] [--max-in-flight N] [--failure-threshold RATIO])',
    );
  }
  const change: SettingsChange = {};
  const problems: FlagProblem[] = [];
  const reported = readFlags(LIVE_FLAGS, flagValues, change, problems);
  for (const problem of applyChange(withDefaults(), change).problems) {
    // Only values that parsed: a flag that did not is reported already (and leaves no change).
    if (reported.has(problem.setting) || !(problem.setting in change)) continue;
    reported.add(problem.setting);
    problems.push(toFlagProblem(problem.setting, problem.message, flagValues));
  }
  if (problems.length > 0)
    throw new CliError(
      problems.sort((a, b) => flagOrder(a, LIVE_FLAGS) - flagOrder(b, LIVE_FLAGS)).map(problemLine),
    );
  return { id, change };
}

export const set: Command = async (argv, context) => {
  const { id, change } = parseSetArgs(argv);
  const temporal = await context.temporal();
  const handle = await runningRollout(temporal, id, 'change');
  const live = await sendChange(temporal, handle, change);
  process.stdout.write(`rollout ${id} now runs with ${liveText(live)}\n`);
  return ExitCode.Ok;
};

/** Runs the update; its refusal, or no answer, as a `CliError` that says nothing changed. */
async function sendChange(
  temporal: Temporal,
  handle: WorkflowHandle,
  change: SettingsChange,
): Promise<SettingsChangeResult> {
  const id = handle.workflowId;
  try {
    return await temporal.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(setUpdate, { args: [change] }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause?.message ?? err.message;
      if (/no registered handler for update/i.test(reason)) {
        throw new CliError(
          `rollout "${id}" does not take live changes (it runs a workflow version without \`rollout set\`); nothing changed`,
        );
      }
      throw new CliError(`rollout "${id}" refused the change: ${reason}; nothing changed`);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw new CliError(
        `rollout "${id}" did not answer the change within ${UPDATE_DEADLINE_MS / 1000} s — is a worker polling ` +
          `task queue "${temporal.config.temporal.taskQueue}"? (\`npm run worker\`); check \`rollout status ${id}\` before trying again`,
      );
    }
    throw err;
  }
}
