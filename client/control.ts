/**
 * The operator controls of a running rollout — pause, resume, approve, promote — as pure
 * decisions on its progress: whether one applies now (and if not, a message saying why), whether
 * a later progress shows it took effect, and the line that says what happened. The commands
 * (`commands/control.ts`) do the I/O around them.
 */
import type { RolloutProgress } from '../workflows/definitions.js';
import { RolloutStatus } from '../workflows/definitions.js';
import { plural } from './render.js';

/** A control command; its name is also the command's. */
export const ControlAction = {
  Pause: 'pause',
  Resume: 'resume',
  Approve: 'approve',
  Promote: 'promote',
} as const;
export type ControlAction = (typeof ControlAction)[keyof typeof ControlAction];

const ENDED: readonly string[] = [RolloutStatus.Completed, RolloutStatus.Halted, RolloutStatus.Cancelled];

/** Whether the rollout has reached a final status. */
export function hasEnded(p: Pick<RolloutProgress, 'status'>): boolean {
  return ENDED.includes(p.status);
}

/** ` wave 2 of 4`, or '' for a rollout of one wave. */
function waveText(p: RolloutProgress): string {
  const waves = p.waves;
  return waves && waves.list.length > 1 ? ` wave ${waves.current} of ${waves.list.length}` : '';
}

/**
 * What the rollout is doing, after "it is": `running wave 2 of 4`, `waiting for <what the
 * rollout says it waits for>`, `paused in wave 2 of 4, waiting for resume (…) — <reason>`,
 * `completed`.
 */
export function describeState(p: RolloutProgress): string {
  const waitingFor = p.waitingFor?.message;
  switch (p.status) {
    case RolloutStatus.Running:
      return `running${waveText(p)}`;
    case RolloutStatus.Paused:
      return `paused${waveText(p) ? ` in${waveText(p)}` : ''}${waitingFor ? `, waiting for ${waitingFor}` : ''}`;
    case RolloutStatus.Waiting:
      return waitingFor ? `waiting for ${waitingFor}` : `waiting after${waveText(p)}`;
    default:
      return p.status;
  }
}

/** The message refusing `action` on a rollout in this state, or undefined when it applies. */
export function refusal(action: ControlAction, id: string, p: RolloutProgress): string | undefined {
  const rollout = `rollout "${id}"`;
  if (hasEnded(p)) return `${rollout} already ended (${p.status}); there is nothing to ${action}`;
  const state = `(it is ${describeState(p)})`;
  const kind = p.waitingFor?.kind;
  switch (action) {
    case ControlAction.Pause:
      return p.status === RolloutStatus.Paused
        ? `${rollout} is already paused ${state} — \`rollout resume ${id}\` continues it`
        : undefined;
    case ControlAction.Resume:
      return p.status === RolloutStatus.Paused ? undefined : `${rollout} is not paused ${state}`;
    case ControlAction.Approve:
      // The approve signal also cuts a bake short (and approves what follows it).
      return p.status === RolloutStatus.Waiting && (kind === 'approval' || kind === 'bake')
        ? undefined
        : `${rollout} is not waiting for approval ${state}`;
    case ControlAction.Promote:
      return p.status === RolloutStatus.Waiting && kind === 'bake'
        ? undefined
        : `${rollout} is not baking ${state}`;
  }
}

/** Whether `after` shows that `action`, sent when the rollout was at `before`, took effect. */
export function tookEffect(action: ControlAction, before: RolloutProgress, after: RolloutProgress): boolean {
  if (hasEnded(after)) return true;
  const sameWait =
    after.waitingFor?.kind === before.waitingFor?.kind && after.waitingFor?.wave === before.waitingFor?.wave;
  switch (action) {
    case ControlAction.Pause:
      return after.status === RolloutStatus.Paused;
    case ControlAction.Resume:
      return after.status !== RolloutStatus.Paused;
    case ControlAction.Approve:
    case ControlAction.Promote:
      return after.status !== RolloutStatus.Waiting || !sameWait;
  }
}

/** The one line that says what happened (`rollout "X" paused: 3 pushes in flight will finish, …`). */
export function confirmation(
  action: ControlAction,
  id: string,
  before: RolloutProgress,
  after: RolloutProgress,
  reason?: string,
): string {
  const now = hasEnded(after)
    ? `it ended ${after.status}`
    : after.status === RolloutStatus.Running
      ? waveText(after)
        ? `${waveText(after).trim()} is running`
        : 'pushing again'
      : `it is ${describeState(after)}`;
  switch (action) {
    case ControlAction.Pause: {
      const inFlight =
        after.inFlight === 0
          ? 'no push is in flight'
          : `${plural(after.inFlight, 'push', 'pushes')} in flight will finish`;
      return (
        `rollout ${id} paused${reason ? ` (${reason})` : ''}: ${inFlight}, no new push starts — ` +
        `\`rollout resume ${id}\` continues it`
      );
    }
    case ControlAction.Resume: {
      const accepted = before.breaker.tripped
        ? `; the breaker counts afresh, accepting the ${plural(before.failed, 'failure', 'failures')} so far`
        : '';
      return `rollout ${id} resumed: ${now}${accepted}`;
    }
    case ControlAction.Approve: {
      const bake = before.waitingFor?.kind === 'bake' ? 'bake cut short; ' : '';
      return `rollout ${id} approved: ${bake}${now}`;
    }
    case ControlAction.Promote:
      return `rollout ${id} promoted: bake of wave ${before.waitingFor?.wave ?? '?'} skipped; ${now}`;
  }
}
