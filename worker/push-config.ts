/**
 * Where and how pushes may go, from the worker's environment: TLS to devices (PUSH_CA_FILE,
 * PUSH_CLIENT_CERT_FILE, PUSH_CLIENT_KEY_FILE) and the host allowlist (PUSH_ALLOW_HOSTS). Files
 * are read and checked once at start-up, so a worker with a bad certificate or key never starts,
 * and every problem names its variable, the file and what to do — never the file's content.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PushTlsOptions } from '../activities/http.js';
import type { EnvReader } from '../shared/env.js';
import { HostAllowlist } from '../shared/host-allowlist.js';

const CERT_BLOCK_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** TLS options for pushes, or undefined when no PUSH_*_FILE variable is set. */
export function readPushTls(env: EnvReader, now: Date = new Date()): PushTlsOptions | undefined {
  const ca = readCaBundle(env);
  const certFile = env.optional('PUSH_CLIENT_CERT_FILE');
  const keyFile = env.optional('PUSH_CLIENT_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    env.problems.push(
      `PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE: set both (a client certificate needs its key) or neither (got only ${certFile === undefined ? 'PUSH_CLIENT_KEY_FILE' : 'PUSH_CLIENT_CERT_FILE'})`,
    );
  }
  const identity =
    certFile !== undefined && keyFile !== undefined ? readIdentity(env, certFile, now) : undefined;
  if (ca === undefined && identity === undefined) return undefined;
  return { ...(ca === undefined ? {} : { ca }), ...identity };
}

/** The host allowlist of PUSH_ALLOW_HOSTS, or undefined when it is unset (any host). */
export function readAllowHosts(env: EnvReader): HostAllowlist | undefined {
  const raw = env.optional('PUSH_ALLOW_HOSTS');
  if (raw === undefined) return undefined;
  const parsed = HostAllowlist.parse(raw);
  if ('allowlist' in parsed) return parsed.allowlist;
  for (const problem of parsed.problems) {
    env.problems.push(
      `PUSH_ALLOW_HOSTS=${JSON.stringify(raw)}: ${problem} (e.g. PUSH_ALLOW_HOSTS=*.devices.example.com,10.0.0.5:8443)`,
    );
  }
  return undefined;
}

/** PUSH_CA_FILE's certificates as PEM text, each checked to parse. */
function readCaBundle(env: EnvReader): string | undefined {
  const file = readText(
    env,
    'PUSH_CA_FILE',
    'a PEM file of the CA certificates that sign device certificates',
  );
  if (file === undefined) return undefined;
  const blocks = file.text.match(CERT_BLOCK_RE) ?? [];
  if (blocks.length === 0) {
    env.problems.push(
      `${file.label}: holds no PEM certificate (-----BEGIN CERTIFICATE-----) — point it at the CA certificates that sign device certificates`,
    );
    return undefined;
  }
  let ok = true;
  blocks.forEach((pem, i) => {
    const problem = certificateProblem(pem);
    if (problem === undefined) return;
    ok = false;
    env.problems.push(
      `${file.label}: certificate ${i + 1} of ${blocks.length} cannot be parsed (${problem})`,
    );
  });
  return ok ? blocks.join('\n') + '\n' : undefined;
}

/** The client certificate and key, checked to parse, to belong together and to be valid now. */
function readIdentity(
  env: EnvReader,
  certName: string,
  now: Date,
): { cert: string; key: string } | undefined {
  const certFile = readText(env, 'PUSH_CLIENT_CERT_FILE', "the worker's PEM client certificate");
  const keyFile = readText(
    env,
    'PUSH_CLIENT_KEY_FILE',
    "the PEM private key of the worker's client certificate",
  );
  if (certFile === undefined || keyFile === undefined) return undefined;
  const first = certFile.text.match(CERT_BLOCK_RE)?.[0];
  let cert: X509Certificate | undefined;
  try {
    cert = first === undefined ? undefined : new X509Certificate(first);
  } catch (err) {
    env.problems.push(`${certFile.label}: the certificate cannot be parsed (${(err as Error).message})`);
    return undefined;
  }
  if (cert === undefined) {
    env.problems.push(`${certFile.label}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  const key = privateKey(env, keyFile.label, keyFile.text);
  if (key === undefined) return undefined;
  if (!cert.checkPrivateKey(key)) {
    env.problems.push(
      `${keyFile.label}: is not the key of the certificate in PUSH_CLIENT_CERT_FILE=${certName} — give the key the certificate was issued for`,
    );
    return undefined;
  }
  const period = validityProblem(cert, now);
  if (period !== undefined) {
    env.problems.push(`${certFile.label}: ${period}`);
    return undefined;
  }
  return { cert: certFile.text, key: keyFile.text };
}

function privateKey(env: EnvReader, label: string, pem: string): KeyObject | undefined {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    env.problems.push(
      `${label}: the key is encrypted and a worker cannot ask for its passphrase — store it decrypted, readable by the worker only (chmod 600)`,
    );
    return undefined;
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    env.problems.push(`${label}: holds no usable PEM private key (${(err as Error).message})`);
    return undefined;
  }
}

function validityProblem(cert: X509Certificate, now: Date): string | undefined {
  if (Date.parse(cert.validTo) < now.getTime()) {
    return `the client certificate expired on ${new Date(cert.validTo).toISOString()} — renew it`;
  }
  if (Date.parse(cert.validFrom) > now.getTime()) {
    return `the client certificate is not valid before ${new Date(cert.validFrom).toISOString()} — check the worker's clock or the certificate`;
  }
  return undefined;
}

function certificateProblem(pem: string): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The file a variable names, as text, with `NAME=path` for messages; a problem when unreadable. */
function readText(env: EnvReader, name: string, what: string): { text: string; label: string } | undefined {
  const path = env.optional(name);
  if (path === undefined) return undefined;
  const label = `${name}=${path}`;
  try {
    return { text: readFileSync(resolve(path), 'utf8'), label };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    env.problems.push(
      `${label}: cannot read the file (${code}) — point it at ${what}, readable by the worker`,
    );
    return undefined;
  }
}
