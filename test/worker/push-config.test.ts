/**
 * The worker's push variables: PUSH_CA_FILE, PUSH_CLIENT_CERT_FILE + PUSH_CLIENT_KEY_FILE and
 * PUSH_ALLOW_HOSTS are read and checked at start-up; every problem names its variable and file
 * and says what to do, and no message ever holds a key.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/env.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';

let pki: TestPki;
let encryptedKey: string;
let garbage: string;

beforeAll(() => {
  pki = createTestPki();
  encryptedKey = join(pki.dir, 'encrypted.key');
  execFileSync('openssl', [
    'pkey',
    '-in',
    pki.client.keyPath,
    '-out',
    encryptedKey,
    '-aes256',
    '-passout',
    'pass:pw',
  ]);
  garbage = join(pki.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
});

afterAll(() => pki.close());

/** The problems of a configuration that must be refused. */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('push TLS configuration', () => {
  it('reads an extra CA bundle and a client identity', () => {
    const config = loadWorkerConfig({
      PUSH_CA_FILE: pki.deviceCa.certPath,
      PUSH_CLIENT_CERT_FILE: pki.client.certPath,
      PUSH_CLIENT_KEY_FILE: pki.client.keyPath,
    });
    expect(config.pushTls).toEqual({ ca: pki.deviceCa.cert, cert: pki.client.cert, key: pki.client.key });
  });

  it('has no push TLS options and no allowlist when the variables are unset', () => {
    const config = loadWorkerConfig({});
    expect(config.pushTls).toBeUndefined();
    expect(config.allowHosts).toBeUndefined();
  });

  it.each<[string, () => NodeJS.ProcessEnv, () => RegExp]>([
    [
      'a CA file that does not exist',
      () => ({ PUSH_CA_FILE: '/no/such/ca.pem' }),
      () =>
        /^PUSH_CA_FILE=\/no\/such\/ca\.pem: cannot read the file \(ENOENT\) — point it at a PEM file of the CA certificates that sign device certificates, readable by the worker$/,
    ],
    [
      'a CA file without a certificate',
      () => ({ PUSH_CA_FILE: garbage }),
      () => /^PUSH_CA_FILE=.*garbage\.pem: holds no PEM certificate \(-----BEGIN CERTIFICATE-----\)/,
    ],
    [
      'a client certificate without its key',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.client.certPath }),
      () =>
        /^PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE: set both \(a client certificate needs its key\) or neither \(got only PUSH_CLIENT_CERT_FILE\)$/,
    ],
    [
      'a key without its certificate',
      () => ({ PUSH_CLIENT_KEY_FILE: pki.client.keyPath }),
      () => /set both .* or neither \(got only PUSH_CLIENT_KEY_FILE\)$/,
    ],
    [
      'a key that is not the certificate’s',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.client.certPath, PUSH_CLIENT_KEY_FILE: pki.rogueClient.keyPath }),
      () =>
        /^PUSH_CLIENT_KEY_FILE=.*rogue\.key: is not the key of the certificate in PUSH_CLIENT_CERT_FILE=.*worker\.crt — give the key the certificate was issued for$/,
    ],
    [
      'an encrypted key',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.client.certPath, PUSH_CLIENT_KEY_FILE: encryptedKey }),
      () =>
        /^PUSH_CLIENT_KEY_FILE=.*encrypted\.key: the key is encrypted and a worker cannot ask for its passphrase/,
    ],
    [
      'a key file without a key',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.client.certPath, PUSH_CLIENT_KEY_FILE: garbage }),
      () => /^PUSH_CLIENT_KEY_FILE=.*garbage\.pem: holds no usable PEM private key \(.+\)$/,
    ],
    [
      'a client certificate file without a certificate',
      () => ({ PUSH_CLIENT_CERT_FILE: garbage, PUSH_CLIENT_KEY_FILE: pki.client.keyPath }),
      () => /^PUSH_CLIENT_CERT_FILE=.*garbage\.pem: holds no PEM certificate/,
    ],
    [
      'an expired client certificate',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.expired.certPath, PUSH_CLIENT_KEY_FILE: pki.expired.keyPath }),
      () => /^PUSH_CLIENT_CERT_FILE=.*expired\.crt: the client certificate expired on \d{4}-.* — renew it$/,
    ],
    [
      'a key file that does not exist',
      () => ({ PUSH_CLIENT_CERT_FILE: pki.client.certPath, PUSH_CLIENT_KEY_FILE: '/no/such/key.pem' }),
      () => /^PUSH_CLIENT_KEY_FILE=\/no\/such\/key\.pem: cannot read the file \(ENOENT\)/,
    ],
  ])('refuses %s, naming the variable and the fix', (_what, env, message) => {
    const found = problems(env());
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message());
    expect(found[0]).not.toContain('PRIVATE KEY');
  });
});

describe('PUSH_ALLOW_HOSTS', () => {
  it('reads the allowlist', () => {
    const config = loadWorkerConfig({ PUSH_ALLOW_HOSTS: '*.devices.example.com, 10.0.0.5:8443' });
    expect(config.allowHosts?.toString()).toBe('*.devices.example.com,10.0.0.5:8443');
    expect(config.allowHosts?.allows('https://a.devices.example.com/update')).toBe(true);
    expect(config.allowHosts?.allows('https://10.0.0.5/update')).toBe(false);
  });

  it('refuses a bad entry, naming the variable and showing an example', () => {
    expect(problems({ PUSH_ALLOW_HOSTS: 'ok.example.com,https://x.example.com' })).toEqual([
      'PUSH_ALLOW_HOSTS="ok.example.com,https://x.example.com": entry 2 "https://x.example.com" is not a host — ' +
        'write a host name or address, e.g. device.example.com, not a URL ' +
        '(e.g. PUSH_ALLOW_HOSTS=*.devices.example.com,10.0.0.5:8443)',
    ]);
  });
});
