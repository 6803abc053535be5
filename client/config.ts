/**
 * Client configuration, read once from the environment, validated (every problem names its
 * variable) and frozen; and the connection to Temporal it describes.
 */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { EnvReader } from '../shared/env.js';
import { DEFAULT_DATA_DIR } from '../shared/paths.js';
import type { TemporalConfig } from '../shared/temporal-config.js';
import { readTemporalConfig } from '../shared/temporal-config.js';
import { CliError } from './errors.js';

export interface ClientConfig {
  temporal: TemporalConfig;
  /** Base URL of the Temporal Web UI, without a trailing slash (TEMPORAL_UI_URL). */
  uiUrl: string;
  /** Where the workers keep frozen fleets, if mounted here (ROLLOUT_DATA_DIR); used by `results`. */
  dataDir: string;
  /** How long to try to reach Temporal before giving up, in ms (TEMPORAL_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}

const DEFAULTS = {
  uiUrl: 'http://localhost:8233',
  connectTimeoutMs: 10 * 1000, // 10 s
};

/** Reads and validates the client's environment; throws `ConfigError` naming each bad variable. */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): Readonly<ClientConfig> {
  const reader = new EnvReader(env);
  const temporal = readTemporalConfig(reader);
  const config: ClientConfig = {
    temporal,
    uiUrl: readUiUrl(reader, defaultUiUrl(temporal.address)),
    dataDir: resolve(reader.string('ROLLOUT_DATA_DIR', DEFAULT_DATA_DIR)),
    connectTimeoutMs: reader.integer('TEMPORAL_CONNECT_TIMEOUT_MS', DEFAULTS.connectTimeoutMs, 100, 600_000),
  };
  reader.check();
  return Object.freeze(config);
}

/**
 * The Web UI of a dev server on this machine: `temporal server start-dev` serves it on the
 * frontend port + 1000 (7233 → 8233). Elsewhere the UI's address cannot be guessed: the
 * default stands until TEMPORAL_UI_URL says otherwise.
 */
export function defaultUiUrl(address: string): string {
  const match = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]):(\d+)$/.exec(address);
  const port = Number(match?.[2]);
  if (!match || !(port + 1000 <= 65_535)) return DEFAULTS.uiUrl;
  return `http://${match[1]!}:${port + 1000}`;
}

function readUiUrl(reader: EnvReader, fallback: string): string {
  const raw = reader.string('TEMPORAL_UI_URL', fallback);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    reader.problems.push(
      `TEMPORAL_UI_URL=${JSON.stringify(raw)}: must be an http(s) URL, e.g. ${DEFAULTS.uiUrl}`,
    );
    return DEFAULTS.uiUrl;
  }
  return raw.replace(/\/+$/, '');
}

/** The Web UI page of a rollout (its workflow id, the latest run). */
export function workflowUrl(config: ClientConfig, rolloutId: string): string {
  const ns = encodeURIComponent(config.temporal.namespace);
  return `${config.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(rolloutId)}`;
}

/** A connected client, and the connection to close when the command is done. */
export interface Temporal {
  connection: Connection;
  client: Client;
  config: Readonly<ClientConfig>;
}

/**
 * Connects to Temporal. Throws `CliError` naming TEMPORAL_ADDRESS (and how to start a local
 * server) when it cannot be reached.
 */
export async function connect(config: Readonly<ClientConfig>): Promise<Temporal> {
  const { address, namespace, tls, apiKey } = config.temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      connectTimeout: config.connectTimeoutMs,
      ...(tls === undefined ? {} : { tls }),
      ...(apiKey === undefined ? {} : { apiKey }),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${reason} — ${unreachableHint(tls, apiKey)}`,
    );
  }
  return { connection, client: new Client({ connection, namespace }), config };
}

/** What to check when the server cannot be reached: the local server, or the TLS settings. */
function unreachableHint(tls: TemporalConfig['tls'], apiKey: string | undefined): string {
  if (tls === undefined)
    return 'start a local server with `npm run server`, or set TEMPORAL_ADDRESS to your cluster';
  const parts = [
    tls.serverRootCACertificate
      ? 'the server certificate must be signed by TEMPORAL_TLS_CA'
      : 'the server certificate must be signed by a CA Node trusts (or set TEMPORAL_TLS_CA)',
    tls.clientCertPair
      ? 'the cluster must accept the client certificate in TEMPORAL_TLS_CERT'
      : apiKey === undefined
        ? 'a cluster that requires mutual TLS needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY'
        : 'the cluster must accept TEMPORAL_API_KEY',
  ];
  return `TLS is on: check the address, ${parts.join(', and ')}`;
}
