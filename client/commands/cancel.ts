/**
 * `rollout cancel ID`: requests cancellation of the rollout's workflow (by id, so it reaches
 * the latest run after continue-as-new). The rollout stops starting pushes, aborts those in
 * flight, waits for its batches to report, and keeps its report in its memo.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { parseFlags, positionals } from '../args.js';
import type { Command } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { describeRollout } from '../outcome.js';

export const cancel: Command = async (argv, context) => {
  const { positionals: given } = parseFlags(argv, {}, 'cancel');
  const [id = ''] = positionals(given, ['ID'], 'cancel');
  const temporal = await context.temporal();
  const handle = temporal.client.workflow.getHandle(id);
  const description = await describeRollout(handle, temporal.config.temporal.namespace);
  if (description.status.name !== 'RUNNING') throw alreadyEnded(id, description.status.name);
  try {
    await handle.cancel();
  } catch (err) {
    // It closed between the describe and the cancel.
    if (err instanceof WorkflowNotFoundError) throw alreadyEnded(id, 'meanwhile');
    throw err;
  }
  process.stdout.write(`cancellation requested for ${id}\n`);
  process.stderr.write(
    `in-flight pushes are aborted and the report is kept; \`rollout status ${id} --follow\` waits for the end\n`,
  );
  return ExitCode.Ok;
};

function alreadyEnded(id: string, how: string): CliError {
  return new CliError(`rollout "${id}" already ended (${how}); there is nothing to cancel`);
}
