/**
 * The engine's push metrics, recorded by the push activities through the Temporal SDK's metric
 * meter, so they leave through the runtime's exporter (Prometheus on METRICS_PORT) beside the
 * runtime's own `temporal_*` metrics.
 */
import type { MetricMeter } from '@temporalio/common';

/** How one push attempt ended, for metrics. */
export interface PushOutcome {
  /** `succeeded`, or the failure type (`HttpServerError`, `AttemptTimeout`, …). */
  outcome: string;
  durationMs: number;
  /** Artifact bytes sent (0 when the attempt failed before the body). */
  bytes: number;
}

/** The engine's own metrics, recorded by the push activities. */
export interface PushMetrics {
  attemptStarted(): void;
  attemptEnded(result: PushOutcome): void;
  /** A device confirmed (or not) that it runs the artifact (verified completion). */
  verified(outcome: 'confirmed' | 'VerifyTimeout'): void;
}

/**
 * Push metrics on `meter` (the runtime's). On the Prometheus endpoint they read
 * `rollout_push_attempts_total{outcome="HttpServerError"}`, `rollout_push_bytes_total`,
 * `rollout_push_duration_seconds_bucket{outcome="failed",le="0.5"}`, `rollout_pushes_in_flight`,
 * `rollout_verifications_total{outcome="confirmed"}` (the runtime's own are `temporal_*`).
 */
export function createPushMetrics(meter: MetricMeter): PushMetrics {
  const attempts = meter.createCounter(
    'rollout_push_attempts',
    '',
    'Push attempts by outcome: succeeded or the failure type',
  );
  // Seconds, as Prometheus expects (the exporter's default buckets are in seconds).
  const latency = meter.createHistogram(
    'rollout_push_duration',
    'float',
    'seconds',
    'Duration of one push attempt, connect to answer, any outcome',
  );
  const bytes = meter.createCounter('rollout_push_bytes', 'bytes', 'Artifact bytes sent to devices');
  const inFlight = meter.createGauge(
    'rollout_pushes_in_flight',
    'int',
    '',
    'Push attempts in flight on this worker',
  );
  const verified = meter.createCounter('rollout_verifications', '', 'Verified completions by outcome');
  let current = 0;
  return {
    attemptStarted() {
      current += 1;
      inFlight.set(current);
    },
    attemptEnded(result) {
      current -= 1;
      inFlight.set(current);
      attempts.add(1, { outcome: result.outcome });
      latency.record(result.durationMs / 1000, {
        outcome: result.outcome === 'succeeded' ? 'succeeded' : 'failed',
      });
      if (result.bytes > 0) bytes.add(result.bytes);
    },
    verified(outcome) {
      verified.add(1, { outcome });
    },
  };
}

/** Push metrics that go nowhere (tests and tools that do not export metrics). */
export const NO_PUSH_METRICS: PushMetrics = {
  attemptStarted() {},
  attemptEnded() {},
  verified() {},
};
