/**
 * Text for people: the final report, the compact status summary, and the live progress line.
 * Pure functions of the progress/report objects (no I/O), so they are testable and `--json`
 * output never depends on them.
 */
import type { RolloutProgress, RolloutReport } from '../workflows/definitions.js';
import { formatBytes } from './artifact.js';

/** Devices that reached an outcome (succeeded, failed or aborted). */
export function devicesDone(p: RolloutProgress): number {
  return p.succeeded + p.failed + p.aborted;
}

/** Whole percent of devices done (100 for an empty fleet). */
export function percentDone(p: RolloutProgress): number {
  return p.total === 0 ? 100 : Math.floor((100 * devicesDone(p)) / p.total);
}

/** `1,234`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 batch`, `3 batches`. */
export function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** `2.4 %` (one decimal). */
export function percent(ratio: number): string {
  return `${(100 * ratio).toFixed(1)} %`;
}

/** `1h 2m`, `3m 12s`, `4.2s`, `350ms`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** `12.5/s`, or `–` before a rate is known. */
function rateText(perSecond: number | null): string {
  if (perSecond === null) return '–/s';
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
}

/** `[██████░░░░░░]` of `width` cells. */
export function bar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/** The single updating line on a terminal. */
export function progressLine(p: RolloutProgress, perSecond: number | null, columns = 100): string {
  const done = devicesDone(p);
  const counts =
    `${percentDone(p)}% ${count(done)}/${count(p.total)} · ${count(p.succeeded)} ok · ` +
    `${count(p.failed)} failed (${percent(p.failureRatio)}) · ${count(p.inFlight)} in flight · ${rateText(perSecond)}`;
  const tripped = p.breaker.tripped ? ' · BREAKER TRIPPED' : '';
  // Room left on the line: the brackets and the space after the bar take 3, the cursor 1.
  const width = Math.max(10, Math.min(30, columns - counts.length - tripped.length - 4));
  const line = `${bar(p.total === 0 ? 1 : done / p.total, width)} ${counts}${tripped}`;
  return line.length >= columns ? line.slice(0, Math.max(1, columns - 1)) : line;
}

/** A progress line for logs (no bar, no control characters). */
export function plainProgressLine(p: RolloutProgress, perSecond: number | null): string {
  return (
    `${p.rolloutId} ${p.status}: ${percentDone(p)}% (${count(devicesDone(p))}/${count(p.total)} devices), ` +
    `${count(p.succeeded)} succeeded, ${count(p.failed)} failed (ratio ${p.failureRatio.toFixed(3)}), ` +
    `${count(p.inFlight)} in flight, ${rateText(perSecond).replace('/s', ' devices/s')}` +
    (p.breaker.tripped ? `, breaker tripped: ${p.breaker.reason ?? ''}` : '')
  );
}

/** The compact summary `rollout status` prints for a running rollout. */
export function renderSummary(p: RolloutProgress, now: Date = new Date()): string {
  const elapsed = now.getTime() - Date.parse(p.startedAt);
  return [
    `${p.rolloutId}  ${p.status}  ${percentDone(p)}%  ${count(devicesDone(p))} of ${count(p.total)} devices done`,
    `  ${count(p.succeeded)} succeeded, ${count(p.failed)} failed, ${count(p.aborted)} aborted, ` +
      `${count(p.inFlight)} in flight, ${count(p.notAttempted)} not attempted`,
    `  failure ratio ${percent(p.failureRatio)} · breaker ${breakerText(p)}`,
    `  batches ${count(p.batches.done)} of ${count(p.batches.total)} done, ${count(p.batches.running)} running` +
      ` · started ${p.startedAt} (${formatElapsed(elapsed)} ago)` +
      (p.run > 0 ? ` · run ${p.run + 1}` : ''),
  ].join('\n');
}

function breakerText(p: RolloutProgress): string {
  if (p.breaker.tripped) return `tripped: ${p.breaker.reason ?? 'failures dominate'}`;
  return p.breaker.reason ? `not tripped; halted: ${p.breaker.reason}` : 'not tripped';
}

/** The final report, for people. */
export function renderReport(r: RolloutReport): string {
  const row = (label: string, value: string): string => `  ${label.padEnd(15)}${value}`;
  const share = (n: number): string => (r.total === 0 ? '' : `  ${percent(n / r.total).padStart(7)}`);
  const number = (n: number): string => count(n).padStart(count(r.total).length);
  const lines = [
    `rollout ${r.rolloutId} ${r.status} after ${formatElapsed(r.durationMs)}`,
    row(
      'devices',
      `${count(r.total)} in ${plural(r.batches.total, 'batch', 'batches')} of up to ${count(r.batchSize)}`,
    ),
    row('succeeded', `${number(r.succeeded)}${share(r.succeeded)}`),
    row('failed', `${number(r.failed)}${share(r.failed)}`),
    row('aborted', `${number(r.aborted)}${share(r.aborted)}`),
    row('not attempted', `${number(r.notAttempted)}${share(r.notAttempted)}`),
    row(
      'failure ratio',
      `${percent(r.failureRatio)} (breaker threshold ${percent(r.settings.failureThreshold)} ` +
        `after ${count(r.settings.minSamples)} devices)`,
    ),
    row('breaker', breakerText(r)),
    row('artifact', `${r.artifact.path} (${formatBytes(r.artifact.size)}, sha-256 ${r.artifact.sha256})`),
  ];
  const byType = Object.entries(r.failuresByType).sort((a, b) => b[1] - a[1]);
  if (byType.length > 0)
    lines.push(row('failure types', byType.map(([t, n]) => `${t} ${count(n)}`).join(', ')));
  if (r.failures.length > 0) {
    lines.push(
      `  failed devices (${r.failures.length} of ${count(r.failed)}; all: rollout results ${r.rolloutId}):`,
    );
    for (const f of r.failures) {
      const attempts =
        f.attempts === null ? '' : `after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: `;
      lines.push(`    ${f.deviceId}  ${f.errorType}  ${attempts}${f.message}`);
    }
  }
  return lines.join('\n');
}

/** Markdown of the settings, for the Web UI's static details of a rollout. */
export function settingsMarkdown(rows: ReadonlyArray<readonly [string, string]>, intro: string): string {
  return [intro, '', '| setting | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join(
    '\n',
  );
}
