/**
 * The worker's logs and metrics. Installs the Temporal runtime once per process with
 *
 * - a logger: JSON lines (`LOG_FORMAT=json`: one object a line with time, level, message and
 *   the SDK's context — workflow/activity ids — plus ours: rolloutId, deviceId) or plain text;
 * - a Prometheus endpoint (`METRICS_PORT`): the Temporal runtime's own metrics (`temporal_*`:
 *   task latencies, slots, polls, sticky cache…) and the engine's, created through the SDK's
 *   metric meter so they share the exporter: see `PushMetrics`.
 */
import type { LogLevel, LogMetadata, MetricMeter } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';

export type LogFormat = 'json' | 'text';

export interface TelemetryConfig {
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Port of the Prometheus endpoint (`/metrics`); absent: no endpoint. */
  metricsPort?: number;
  /** Address the endpoint binds (default all interfaces, for a container). */
  metricsHost?: string;
}

/** One JSON object a line on stdout: what log shippers (Loki, Cloud Logging, ELK) ingest as is. */
export function jsonLine(level: LogLevel, message: string, meta?: LogMetadata): string {
  const entry: Record<string, unknown> = { time: new Date().toISOString(), level, message };
  for (const [key, value] of Object.entries(meta ?? {})) {
    // Bigints (SDK timestamps) and errors do not serialise by themselves.
    if (typeof value === 'bigint') entry[key] = Number(value);
    else if (value instanceof Error) entry[key] = { name: value.name, message: value.message };
    else entry[key] = value;
  }
  return JSON.stringify(entry);
}

/** Installs the runtime with these logs and metrics; call once, before any connection. */
export function installTelemetry(config: TelemetryConfig): void {
  const logger =
    config.logFormat === 'json'
      ? new DefaultLogger(config.logLevel, (entry) => {
          process.stdout.write(`${jsonLine(entry.level, entry.message, entry.meta)}\n`);
        })
      : new DefaultLogger(config.logLevel);
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(config.metricsPort === undefined
        ? {}
        : {
            metrics: {
              prometheus: {
                bindAddress: `${config.metricsHost ?? '0.0.0.0'}:${config.metricsPort}`,
                // Prometheus conventions: counters end in _total, durations in seconds.
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }),
    },
  });
}

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
 * Push metrics on `meter` (the runtime's; its exporter adds the `temporal_` prefix, so they
 * read `temporal_rollout_push_attempts_total{outcome="HttpServerError"}` and so on).
 */
export function createPushMetrics(meter: MetricMeter): PushMetrics {
  const attempts = meter.createCounter(
    'rollout_push_attempts',
    '',
    'Push attempts by outcome: succeeded or the failure type',
  );
  const latency = meter.createHistogram(
    'rollout_push_duration',
    'float',
    'ms',
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
      latency.record(result.durationMs, { outcome: result.outcome === 'succeeded' ? 'succeeded' : 'failed' });
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
