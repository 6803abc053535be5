/**
 * Progress and final report, built from the rollout's state. Pure: no Temporal import.
 */
import type {
  RolloutInput,
  RolloutProgress,
  RolloutReport,
  RolloutStatus,
  WaitState,
  WaveProgress,
} from './definitions.js';
import type { RolloutCarry } from './rollout-state.js';
import { failuresByType, totals } from './rollout-state.js';
import type { LiveSetting, RolloutSettings } from './settings.js';

/** What only the running workflow knows: breaker verdict, waves, waits, pace. */
export interface ProgressView {
  breaker: { tripped: boolean; reason: string | null };
  waves: { current: number; list: WaveProgress[] };
  waitingFor: WaitState | null;
  live: Pick<RolloutSettings, LiveSetting>;
  etaSeconds: number | null;
}

export function buildProgress(
  rolloutId: string,
  status: RolloutStatus,
  state: RolloutCarry,
  view: ProgressView,
): RolloutProgress {
  const counts = totals(state);
  const finished = counts.succeeded + counts.failed;
  return {
    rolloutId,
    status,
    total: state.plan.total,
    ...counts,
    failureRatio: finished === 0 ? 0 : counts.failed / finished,
    breaker: view.breaker,
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
    plan: state.plan,
    waves: view.waves,
    waitingFor: view.waitingFor,
    live: view.live,
    etaSeconds: view.etaSeconds,
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
    waitingFor: null,
    etaSeconds: null,
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - Date.parse(state.startedAt),
    failures: state.samples,
    artifact: input.artifact,
    settings: input.settings,
  };
}

function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Short markdown for the Web UI's "current details". */
export function detailsMarkdown(progress: RolloutProgress): string {
  const done = progress.succeeded + progress.failed + progress.aborted;
  const percent = progress.total === 0 ? 100 : Math.floor((100 * done) / progress.total);
  const breaker = progress.breaker.tripped ? `**TRIPPED**: ${progress.breaker.reason}` : 'closed';
  const lines = [`**Rollout ${progress.status}** — ${percent} % (${done} / ${progress.total} devices)`, ''];
  if (progress.waitingFor) lines.push(`**Waiting for** ${progress.waitingFor.message}`, '');
  lines.push(
    `| succeeded | failed | in flight | aborted | not attempted | failure ratio |`,
    `|---|---|---|---|---|---|`,
    `| ${progress.succeeded} | ${progress.failed} | ${progress.inFlight} | ${progress.aborted} | ${progress.notAttempted} | ${progress.failureRatio.toFixed(3)} |`,
    '',
    `Breaker: ${breaker}`,
  );
  const waves = progress.waves;
  const wave = waves?.list[waves.current - 1];
  if (waves && wave && waves.list.length > 1) {
    const threshold = wave.failureThreshold === null ? '' : `, its threshold ${wave.failureThreshold}`;
    lines.push(
      `Wave ${waves.current} of ${waves.list.length} (${wave.state}): ${wave.succeeded} succeeded, ${wave.failed} failed of ${wave.devices}${threshold}`,
    );
  }
  if (progress.live) {
    const rate = progress.live.rate ? `${progress.live.rate} devices/s` : 'no limit';
    lines.push(
      `Rate: ${rate}; max in flight ${progress.live.maxInFlight}; failure threshold ${progress.live.failureThreshold}`,
    );
  }
  if (progress.etaSeconds !== null && progress.etaSeconds !== undefined)
    lines.push(`ETA: ${formatEta(progress.etaSeconds)}`);
  lines.push(
    `Batches: ${progress.batches.done} done, ${progress.batches.running} running, ${progress.batches.total} planned`,
  );
  return lines.join('\n');
}
