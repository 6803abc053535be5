/**
 * Progress and final report, built from the rollout's state. Pure: no Temporal import.
 */
import type { BreakerSettings } from './breaker.js';
import { isTripped, tripReason } from './breaker.js';
import type { RolloutInput, RolloutProgress, RolloutReport, RolloutStatus } from './definitions.js';
import type { RolloutCarry } from './rollout-state.js';
import { failuresByType, totals } from './rollout-state.js';

export function buildProgress(
  rolloutId: string,
  status: RolloutStatus,
  state: RolloutCarry,
  settings: BreakerSettings,
): RolloutProgress {
  const counts = totals(state);
  const finished = counts.succeeded + counts.failed;
  const tripped = isTripped({ failed: counts.failed, finished }, settings);
  return {
    rolloutId,
    status,
    total: state.plan.total,
    ...counts,
    failureRatio: finished === 0 ? 0 : counts.failed / finished,
    breaker: {
      tripped,
      reason: tripped ? tripReason({ failed: counts.failed, finished }, settings) : null,
    },
    batches: {
      total: state.plan.batches,
      started: state.nextBatch,
      done: state.closed.batches,
      running: state.active.length,
    },
    failuresByType: failuresByType(state),
    startedAt: state.startedAt,
    run: state.run,
    batchSize: state.plan.batchSize,
    fleet: state.fleet,
  };
}

export function buildReport(
  progress: RolloutProgress,
  state: RolloutCarry,
  input: RolloutInput,
  endedAt: Date,
): RolloutReport {
  const breaker =
    state.stop?.status === 'halted'
      ? { tripped: progress.breaker.tripped, reason: state.stop.reason }
      : progress.breaker;
  return {
    ...progress,
    breaker,
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - Date.parse(state.startedAt),
    failures: state.samples,
    artifact: input.artifact,
    settings: input.settings,
  };
}

/** Short markdown for the Web UI's "current details". */
export function detailsMarkdown(progress: RolloutProgress): string {
  const done = progress.succeeded + progress.failed + progress.aborted;
  const percent = progress.total === 0 ? 100 : Math.floor((100 * done) / progress.total);
  const breaker = progress.breaker.tripped ? `**TRIPPED**: ${progress.breaker.reason}` : 'closed';
  return [
    `**Rollout ${progress.status}** — ${percent} % (${done} / ${progress.total} devices)`,
    '',
    `| succeeded | failed | in flight | aborted | not attempted | failure ratio |`,
    `|---|---|---|---|---|---|`,
    `| ${progress.succeeded} | ${progress.failed} | ${progress.inFlight} | ${progress.aborted} | ${progress.notAttempted} | ${progress.failureRatio.toFixed(3)} |`,
    '',
    `Breaker: ${breaker}`,
    `Batches: ${progress.batches.done} done, ${progress.batches.running} running, ${progress.batches.total} planned`,
  ].join('\n');
}
