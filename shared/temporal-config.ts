/**
 * How to reach Temporal, from the environment. Shared by the worker and the client so both
 * accept the same variables with the same messages.
 */
import { readFileSync } from 'node:fs';
import type { EnvReader } from './env.js';

export interface TemporalConfig {
  /** host:port of the frontend, e.g. `localhost:7233` or `ns.acct.tmprl.cloud:7233`. */
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS, when any TEMPORAL_TLS_* variable or an API key is set. */
  tls?: {
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverNameOverride?: string;
  };
  apiKey?: string;
}

const ADDRESS = /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

export function readTemporalConfig(env: EnvReader): TemporalConfig {
  const address = env.string('TEMPORAL_ADDRESS', 'localhost:7233');
  if (!ADDRESS.test(address)) {
    env.problems.push(`TEMPORAL_ADDRESS=${JSON.stringify(address)}: must be host:port, e.g. localhost:7233`);
  }
  const config: TemporalConfig = {
    address,
    namespace: env.string('TEMPORAL_NAMESPACE', 'default'),
    taskQueue: env.string('TEMPORAL_TASK_QUEUE', 'rollouts'),
  };
  const apiKey = env.optional('TEMPORAL_API_KEY');
  if (apiKey !== undefined) config.apiKey = apiKey;
  const tls = readTls(env, apiKey !== undefined);
  if (tls) config.tls = tls;
  return config;
}

function readTls(env: EnvReader, forced: boolean): TemporalConfig['tls'] {
  const ca = readPem(env, 'TEMPORAL_TLS_CA');
  const crt = readPem(env, 'TEMPORAL_TLS_CERT');
  const key = readPem(env, 'TEMPORAL_TLS_KEY');
  const serverName = env.optional('TEMPORAL_TLS_SERVER_NAME');
  const enabled = forced || env.optional('TEMPORAL_TLS') === 'true' || ca || crt || key || serverName;
  if (!enabled) return undefined;
  if ((crt === undefined) !== (key === undefined)) {
    env.problems.push(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both (a client certificate needs its key) or neither',
    );
  }
  return {
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  };
}

function readPem(env: EnvReader, name: string): Buffer | undefined {
  const path = env.optional(name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    env.problems.push(
      `${name}=${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
    return undefined;
  }
}
