/**
 * The worker's logs and metrics. Installs the Temporal runtime once per process with
 *
 * - a logger: JSON lines (`LOG_FORMAT=json`: one object a line with time, level, message and
 *   the SDK's context — workflow/activity ids — plus ours: rolloutId, deviceId) or plain text;
 * - a Prometheus endpoint (`METRICS_PORT`): the Temporal runtime's own metrics (`temporal_*`:
 *   task latencies, slots, polls, sticky cache…) and the engine's, created through the SDK's
 *   metric meter so they share the exporter: see activities/metrics.ts.
 */
import type { LogLevel, LogMetadata } from '@temporalio/common';
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
