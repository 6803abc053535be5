/**
 * Certificates for TLS tests, made with the `openssl` CLI into a temporary folder at test time
 * (none is committed): a device CA and device certificates (good, wrong host, expired), a
 * client CA with a worker client certificate, and a self-signed "rogue" client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM key and certificate, with the files they are in. */
export interface Identity {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
}

export interface TestPki {
  dir: string;
  /** Signs the device certificates (give it to the worker as PUSH_CA_FILE). */
  deviceCa: Identity;
  /** For 127.0.0.1 and localhost, signed by `deviceCa`. */
  device: Identity;
  /** Signed by `deviceCa` for `elsewhere.invalid` only. */
  wrongHost: Identity;
  /** Signed by `deviceCa`, for 127.0.0.1, expired. */
  expired: Identity;
  /** Signs client certificates the devices accept. */
  clientCa: Identity;
  /** The worker's client certificate, signed by `clientCa`. */
  client: Identity;
  /** A self-signed client certificate no device trusts. */
  rogueClient: Identity;
  close(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the TLS tests need the openssl CLI — install it (apt-get install -y openssl)');
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(err)}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function read(dir: string, name: string): Identity {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath };
}

function selfSigned(dir: string, name: string, cn: string): Identity {
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
  return read(dir, name);
}

function signed(dir: string, name: string, ca: string, extension: string, days: string): Identity {
  openssl(['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
    ].concat(['-out', `${name}.crt`, '-days', days, '-extfile', `${name}.ext`]),
    dir,
  );
  return read(dir, name);
}

/** Makes a fresh set of certificates (about 0.1 s). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-pki-'));
  const deviceCa = selfSigned(dir, 'device-ca', 'Test device CA');
  const clientCa = selfSigned(dir, 'client-ca', 'Test client CA');
  return {
    dir,
    deviceCa,
    device: signed(dir, 'device', 'device-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '2'),
    wrongHost: signed(dir, 'wrong-host', 'device-ca', 'subjectAltName=DNS:elsewhere.invalid', '2'),
    // -days -1: notAfter a day before notBefore (now), so the certificate has expired.
    expired: signed(dir, 'expired', 'device-ca', 'subjectAltName=IP:127.0.0.1', '-1'),
    clientCa,
    client: signed(dir, 'worker', 'client-ca', 'extendedKeyUsage=clientAuth', '2'),
    rogueClient: selfSigned(dir, 'rogue', 'Rogue client'),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
