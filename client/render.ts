/**
 * Text for people: the final report, the compact status summary, and the live progress line.
 * Pure functions of the progress/report objects (no I/O), so they are testable and `--json`
 * output never depends on them.
 */
import type { RolloutProgress, RolloutReport, WaveProgress } from '../workflows/definitions.js';
import { RolloutStatus } from '../workflows/definitions.js';
import type { LiveSetting, RolloutSettings } from '../workflows/settings.js';
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

/** `wave 2/4`, or '' for a rollout of one wave. */
export function waveLabel(p: RolloutProgress): string {
  const waves = p.waves;
  return waves && waves.list.length > 1 ? `wave ${waves.current}/${waves.list.length}` : '';
}

/** `ETA 3m 12s`, or '' when the rollout gives no estimate. */
export function etaText(p: RolloutProgress): string {
  return typeof p.etaSeconds === 'number' ? `ETA ${formatElapsed(p.etaSeconds * 1000)}` : '';
}

/** `PAUSED: <why>` / `WAITING: <for what>`, or '' while the rollout pushes. */
function holdText(p: RolloutProgress): string {
  if (p.status !== RolloutStatus.Paused && p.status !== RolloutStatus.Waiting) return '';
  const why = p.waitingFor?.message;
  return `${p.status.toUpperCase()}${why ? `: ${why}` : ''}`;
}

/** `rate 10/s, max in flight 100, failure threshold 0.2` (`no rate limit` for rate 0). */
export function liveText(live: Partial<Pick<RolloutSettings, LiveSetting>>): string {
  const rate = live.rate ? `rate ${live.rate}/s` : 'no rate limit';
  return `${rate}, max in flight ${live.maxInFlight ?? '?'}, failure threshold ${live.failureThreshold ?? '?'}`;
}

/** `[██████░░░░░░]` of `width` cells. */
export function bar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/**
 * The single updating line on a terminal: bar, counts, then the pace (devices/s, ETA) while the
 * rollout pushes, or why it does not (paused, waiting) — last, since a narrow terminal cuts it.
 */
export function progressLine(p: RolloutProgress, perSecond: number | null, columns = 100): string {
  const done = devicesDone(p);
  const wave = waveLabel(p);
  const hold = holdText(p);
  const eta = etaText(p);
  const pace = hold || (eta ? `${rateText(perSecond)} · ${eta}` : rateText(perSecond));
  const counts =
    `${percentDone(p)}% ${count(done)}/${count(p.total)}${wave ? ` · ${wave}` : ''} · ${count(p.succeeded)} ok · ` +
    `${count(p.failed)} failed (${percent(p.failureRatio)}) · ${count(p.inFlight)} in flight · ${pace}`;
  const tripped = p.breaker.tripped ? ' · BREAKER TRIPPED' : '';
  // Room left on the line: the brackets and the space after the bar take 3, the cursor 1.
  const width = Math.max(10, Math.min(30, columns - counts.length - tripped.length - 4));
  const line = `${bar(p.total === 0 ? 1 : done / p.total, width)} ${counts}${tripped}`;
  return line.length >= columns ? line.slice(0, Math.max(1, columns - 1)) : line;
}

/** A progress line for logs (no bar, no control characters). */
export function plainProgressLine(p: RolloutProgress, perSecond: number | null): string {
  const wave = waveLabel(p);
  const eta = etaText(p);
  const why = p.waitingFor?.message;
  return (
    `${p.rolloutId} ${p.status}${wave ? ` ${wave}` : ''}: ` +
    `${percentDone(p)}% (${count(devicesDone(p))}/${count(p.total)} devices), ` +
    `${count(p.succeeded)} succeeded, ${count(p.failed)} failed (ratio ${p.failureRatio.toFixed(3)}), ` +
    `${count(p.inFlight)} in flight, ${rateText(perSecond).replace('/s', ' devices/s')}` +
    (eta ? `, ${eta}` : '') +
    (p.live?.rate ? `, rate limit ${p.live.rate}/s` : '') +
    (p.breaker.tripped ? `, breaker tripped: ${p.breaker.reason ?? ''}` : '') +
    (why ? `, waiting for ${why}` : '')
  );
}

/** The compact summary `rollout status` prints for a running rollout. */
export function renderSummary(p: RolloutProgress, now: Date = new Date()): string {
  const elapsed = now.getTime() - Date.parse(p.startedAt);
  const headline = [waveLabel(p), etaText(p)].filter((t) => t !== '');
  const why = p.waitingFor?.message;
  const lines = [
    `${p.rolloutId}  ${p.status}  ${percentDone(p)}%  ${count(devicesDone(p))} of ${count(p.total)} devices done` +
      headline.map((t) => ` · ${t}`).join(''),
    ...(why ? [`  ${p.status === RolloutStatus.Paused ? 'paused' : 'waiting'} for ${why}`] : []),
    `  ${count(p.succeeded)} succeeded, ${count(p.failed)} failed, ${count(p.aborted)} aborted, ` +
      `${count(p.inFlight)} in flight, ${count(p.notAttempted)} not attempted`,
    `  failure ratio ${percent(p.failureRatio)} · breaker ${breakerText(p)}`,
    ...waveLines(p),
    ...(p.live ? [`  live settings: ${liveText(p.live)}`] : []),
    `  batches ${count(p.batches.done)} of ${count(p.batches.total)} done, ${count(p.batches.running)} running` +
      ` · started ${p.startedAt} (${formatElapsed(elapsed)} ago)` +
      (p.run > 0 ? ` · run ${p.run + 1}` : ''),
  ];
  return lines.join('\n');
}

/** The current wave in figures, and how many are done and to go (nothing for one wave). */
function waveLines(p: RolloutProgress): string[] {
  const waves = p.waves;
  const wave = waves?.list.find((w) => w.wave === waves.current);
  if (!waves || !wave || waves.list.length < 2) return [];
  const done = waves.list.filter((w) => w.state === 'done').length;
  const pending = waves.list.filter((w) => w.state === 'pending').length;
  const threshold =
    wave.failureThreshold === null ? '' : ` (its threshold ${percent(wave.failureThreshold)})`;
  return [
    `  wave ${wave.wave} of ${waves.list.length} ${wave.state}: ` +
      `${count(wave.succeeded + wave.failed + wave.aborted)} of ${count(wave.devices)} devices done, ` +
      `${count(wave.failed)} failed${threshold} · ${done} done, ${pending} to go`,
  ];
}

function breakerText(p: RolloutProgress): string {
  // A breaker pause words its reason "breaker tripped: …" already.
  if (p.breaker.tripped)
    return `tripped: ${p.breaker.reason?.replace(/^breaker tripped: /, '') ?? 'failures dominate'}`;
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
    row('breaker', breakerText(r) + (r.settings.onBreaker === 'pause' ? ' (on a trip: pause)' : '')),
    ...(r.waves && r.waves.list.length > 1 ? [row('waves', reportWaves(r.waves.list))] : []),
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

/** `1: 10/10 ok · 2: 88/90 ok, 2 failed · 3: 0/400 ok` — each wave's devices and outcome. */
function reportWaves(list: readonly WaveProgress[]): string {
  return list
    .map(
      (w) =>
        `${w.wave}: ${count(w.succeeded)}/${count(w.devices)} ok` +
        (w.failed > 0 ? `, ${count(w.failed)} failed` : ''),
    )
    .join(' · ');
}

/** Markdown of the settings, for the Web UI's static details of a rollout. */
export function settingsMarkdown(rows: ReadonlyArray<readonly [string, string]>, intro: string): string {
  return [intro, '', '| setting | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join(
    '\n',
  );
}
