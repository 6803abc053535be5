/**
 * Worker configuration, read once from the environment, validated (every problem names its
 * variable) and frozen.
 */
import { resolve } from 'node:path';
import type { PushTlsOptions } from '../activities/http.js';
import { EnvReader } from '../shared/env.js';
import type { HostAllowlist } from '../shared/host-allowlist.js';
import { DEFAULT_DATA_DIR } from '../shared/paths.js';
import type { TemporalConfig } from '../shared/temporal-config.js';
import { readTemporalConfig } from '../shared/temporal-config.js';
import { readAllowHosts, readPushTls } from './push-config.js';
import type { LogLevel } from '@temporalio/common';
import type { TelemetryConfig } from './telemetry.js';

export interface WorkerConfig {
  temporal: TemporalConfig;
  /** Where frozen fleets live; shared by all workers of a deployment (ROLLOUT_DATA_DIR). */
  dataDir: string;
  /** Pushes one worker process runs at once (WORKER_MAX_ACTIVITIES). */
  maxActivities: number;
  /** Keep-alive connections per device origin (PUSH_CONNECTIONS_PER_HOST). */
  connectionsPerHost: number;
  /** Idle keep-alive connections close after this (PUSH_KEEPALIVE_MS). */
  keepAliveMs: number;
  /** TCP/TLS connect timeout (PUSH_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** On SIGINT/SIGTERM, running pushes get this long to finish (WORKER_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** A prebuilt workflow bundle to load instead of bundling at start (WORKFLOW_BUNDLE). */
  workflowBundle?: string;
  /**
   * TLS to devices: extra CAs (PUSH_CA_FILE) and a client certificate and key for mutual TLS
   * (PUSH_CLIENT_CERT_FILE, PUSH_CLIENT_KEY_FILE). Stays on the worker: never in history.
   */
  pushTls?: PushTlsOptions;
  /** Hosts pushes and status polls may reach (PUSH_ALLOW_HOSTS); absent: any host. */
  allowHosts?: HostAllowlist;
  /** Logs and metrics of a worker process (LOG_FORMAT, LOG_LEVEL, METRICS_PORT, METRICS_HOST). */
  telemetry?: TelemetryConfig;
}

const DEFAULTS = {
  maxActivities: 200,
  connectionsPerHost: 128,
  keepAliveMs: 10 * 1000, // 10 s
  connectTimeoutMs: 10 * 1000, // 10 s
  shutdownGraceMs: 10 * 1000, // 10 s
};

const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

function readTelemetry(reader: EnvReader): TelemetryConfig {
  const format = reader.string('LOG_FORMAT', 'text');
  if (format !== 'json' && format !== 'text')
    reader.problems.push(`LOG_FORMAT=${JSON.stringify(format)}: must be json or text`);
  const level = reader.string('LOG_LEVEL', 'INFO').toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level))
    reader.problems.push(`LOG_LEVEL=${JSON.stringify(level)}: must be one of ${LOG_LEVELS.join(', ')}`);
  const telemetry: TelemetryConfig = { logFormat: format === 'json' ? 'json' : 'text', logLevel: level };
  if (reader.optional('METRICS_PORT') !== undefined)
    telemetry.metricsPort = reader.integer('METRICS_PORT', 9464, 1, 65_535);
  const host = reader.optional('METRICS_HOST');
  if (host !== undefined) telemetry.metricsHost = host;
  return telemetry;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): Readonly<WorkerConfig> {
  const reader = new EnvReader(env);
  const config: WorkerConfig = {
    temporal: readTemporalConfig(reader),
    dataDir: resolve(reader.string('ROLLOUT_DATA_DIR', DEFAULT_DATA_DIR)),
    maxActivities: reader.integer('WORKER_MAX_ACTIVITIES', DEFAULTS.maxActivities, 1, 10_000),
    connectionsPerHost: reader.integer('PUSH_CONNECTIONS_PER_HOST', DEFAULTS.connectionsPerHost, 1, 10_000),
    keepAliveMs: reader.integer('PUSH_KEEPALIVE_MS', DEFAULTS.keepAliveMs, 1, 3_600_000),
    connectTimeoutMs: reader.integer('PUSH_CONNECT_TIMEOUT_MS', DEFAULTS.connectTimeoutMs, 1, 600_000),
    shutdownGraceMs: reader.integer('WORKER_SHUTDOWN_GRACE_MS', DEFAULTS.shutdownGraceMs, 0, 3_600_000),
  };
  const bundle = reader.optional('WORKFLOW_BUNDLE');
  if (bundle !== undefined) config.workflowBundle = resolve(bundle);
  const pushTls = readPushTls(reader);
  if (pushTls !== undefined) config.pushTls = pushTls;
  const allowHosts = readAllowHosts(reader);
  if (allowHosts !== undefined) config.allowHosts = allowHosts;
  config.telemetry = readTelemetry(reader);
  reader.check();
  return Object.freeze(config);
}
