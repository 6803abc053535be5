/**
 * Circuit-breaker arithmetic. Pure: no Temporal import.
 *
 * The breaker trips once at least `minSamples` devices have finished and failed/finished
 * exceeds `failureThreshold`. Batches run in child workflows and report asynchronously, so the
 * rollout also hands out *failure permits*: a push may start only while the failures its batch
 * has not reported yet, plus its pushes in flight, stay within the permits it holds. The total
 * of outstanding permits never exceeds `failureHeadroom`, the number of extra failures that
 * cannot trip the breaker whatever successes come with them. So the breaker can only trip on
 * counts the rollout has already received, and when it does no batch may start another push:
 * "after it trips, no new push starts" holds across batches without a round trip per device.
 */

export interface BreakerSettings {
  failureThreshold: number;
  minSamples: number;
}

/** Devices finished so far (succeeded + failed). Aborted pushes are not finished. */
export interface BreakerCounts {
  failed: number;
  finished: number;
}

/** Largest permit count we hand out (a threshold of 1 can never trip). */
export const UNLIMITED_PERMITS = 1_000_000_000;

/** True when the breaker trips on these counts. */
export function isTripped(counts: BreakerCounts, settings: BreakerSettings): boolean {
  return (
    counts.finished >= settings.minSamples && counts.failed > settings.failureThreshold * counts.finished
  );
}

/**
 * How many more failures may happen, with any number of successes, without tripping:
 * the largest f such that `F + f <= t * max(N + f, m)`. Negative when already tripped.
 */
export function failureHeadroom(counts: BreakerCounts, settings: BreakerSettings): number {
  const t = settings.failureThreshold;
  if (t >= 1) return UNLIMITED_PERMITS;
  const { failed: F, finished: N } = counts;
  const m = settings.minSamples;
  // f failures with no success is the worst case once min-samples is reached; before that,
  // successes up to min-samples are: F + f <= t * max(N + f, m) covers both.
  const safe = (f: number): boolean => F + f <= t * Math.max(N + f, m);
  let headroom = Math.floor(Math.max((t * N - F) / (1 - t), t * m - F));
  // The closed form can be off by one through float rounding: settle it with the exact test.
  for (let i = 0; i < 3 && headroom >= 0 && !safe(headroom); i++) headroom -= 1;
  for (let i = 0; i < 3 && safe(headroom + 1); i++) headroom += 1;
  return Math.min(UNLIMITED_PERMITS, headroom);
}

/** The human-readable reason a tripped breaker reports. */
export function tripReason(counts: BreakerCounts, settings: BreakerSettings): string {
  const ratio = counts.finished === 0 ? 0 : counts.failed / counts.finished;
  return (
    `failure ratio ${ratio.toFixed(3)} (${counts.failed} of ${counts.finished} finished devices) ` +
    `exceeded the threshold ${settings.failureThreshold} after at least ${settings.minSamples} samples`
  );
}
