/**
 * `rollout pause|resume|approve|promote ID`: each reads the rollout's progress first and refuses
 * (exit 1, saying what the rollout is doing) when the control does not apply; otherwise it
 * signals the rollout by workflow id — so the signal reaches the latest run after
 * continue-as-new — and watches progress until it shows the change, then says what happened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { RolloutProgress } from '../../workflows/definitions.js';
import { approveSignal, pauseSignal, promoteSignal, resumeSignal } from '../../workflows/definitions.js';
import type { FlagOptions } from '../args.js';
import { parseFlags, positionals } from '../args.js';
import type { Temporal } from '../config.js';
import type { Command } from '../context.js';
import { ControlAction, confirmation, describeState, refusal, tookEffect } from '../control.js';
import { CliError, ExitCode } from '../errors.js';
import { queryProgress } from '../live-progress.js';
import { currentProgress, runningRollout } from '../running.js';

const CONFIRM_MS = 5000; // 5 s for the rollout to show the change
const CONFIRM_POLL_MS = 250; // 0.25 s between two progress queries
const MAX_REASON_LENGTH = 500; // characters; the reason travels in history and progress

const OPTIONS: Readonly<Record<ControlAction, FlagOptions>> = {
  pause: { reason: { type: 'string' } },
  resume: {},
  approve: {},
  promote: {},
};

function controlCommand(action: ControlAction): Command {
  return async (argv, context) => {
    const { values, positionals: given } = parseFlags(argv, OPTIONS[action], action);
    const [id = ''] = positionals(given, ['ID'], action);
    const reason = reasonOf(values['reason']);
    const temporal = await context.temporal();
    const handle = await runningRollout(temporal, id, action);
    const before = await currentProgress(temporal, handle);
    const refused = refusal(action, id, before);
    if (refused !== undefined) throw new CliError(refused);
    await send(handle, action, reason);
    const after = await awaitEffect(temporal, handle, action, before);
    process.stdout.write(`${confirmation(action, id, before, after, reason)}\n`);
    return ExitCode.Ok;
  };
}

export const pause = controlCommand(ControlAction.Pause);
export const resume = controlCommand(ControlAction.Resume);
export const approve = controlCommand(ControlAction.Approve);
export const promote = controlCommand(ControlAction.Promote);

/** `--reason`, checked; undefined when not given. */
function reasonOf(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const reason = raw.trim();
  if (reason.length > 0 && reason.length <= MAX_REASON_LENGTH) return reason;
  throw new CliError(
    `--reason: must be 1 to ${MAX_REASON_LENGTH} characters (got ${reason.length === 0 ? 'an empty one' : `${reason.length}`})`,
  );
}

async function send(
  handle: WorkflowHandle,
  action: ControlAction,
  reason: string | undefined,
): Promise<void> {
  switch (action) {
    case ControlAction.Pause:
      return await handle.signal(pauseSignal, reason === undefined ? {} : { reason });
    case ControlAction.Resume:
      return await handle.signal(resumeSignal);
    case ControlAction.Approve:
      return await handle.signal(approveSignal);
    case ControlAction.Promote:
      return await handle.signal(promoteSignal);
  }
}

/**
 * Progress once it shows `action` took effect. A signal is durable once sent, so when the
 * rollout has not shown the change within `CONFIRM_MS` the message says it still may.
 */
async function awaitEffect(
  temporal: Temporal,
  handle: WorkflowHandle,
  action: ControlAction,
  before: RolloutProgress,
): Promise<RolloutProgress> {
  const deadline = Date.now() + CONFIRM_MS;
  let last = before;
  while (Date.now() < deadline) {
    await sleep(CONFIRM_POLL_MS);
    const progress = await queryProgress(temporal, handle, Math.max(500, deadline - Date.now()));
    if (progress === undefined) continue;
    if (tookEffect(action, before, progress)) return progress;
    last = progress;
  }
  const id = handle.workflowId;
  throw new CliError(
    `sent ${action} to rollout "${id}", but after ${CONFIRM_MS / 1000} s it still is ${describeState(last)} — ` +
      `the signal is recorded and applies when the rollout handles it; check \`rollout status ${id}\``,
  );
}
