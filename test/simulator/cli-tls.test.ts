/**
 * `npm run simulator -- --tls-cert … --tls-key … [--tls-client-ca …]`: the simulator CLI as a
 * process serving HTTPS (and mutual TLS), pushed to with the project's own push code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type PushDispatcher } from '../../activities/http.js';
import { attemptPush, PushAttemptError } from '../../activities/push.js';
import { sha256File } from '../../shared/digest.js';
import { REPO_ROOT } from '../../shared/paths.js';
import type { ArtifactRef, DeviceTarget } from '../../shared/types.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';

let pki: TestPki;
let artifact: ArtifactRef;
const children: ChildProcess[] = [];
const dispatchers: PushDispatcher[] = [];

beforeAll(async () => {
  pki = createTestPki();
  const path = join(pki.dir, 'artifact.bin');
  writeFileSync(path, Buffer.alloc(4096, 3));
  artifact = { path, sha256: await sha256File(path, 'base64'), size: 4096 };
});

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(dispatchers.map((d) => d.close()));
  pki?.close();
});

/** Runs the simulator CLI; resolves with its fleet once it printed it, or with its exit and stderr. */
function simulator(
  args: string[],
): Promise<{ fleet: DeviceTarget[] } | { code: number | null; stderr: string }> {
  const fleetOut = join(pki.dir, `fleet-${children.length}.ndjson`);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/main.ts',
      '--devices',
      '2',
      '--port',
      '0',
      '--fleet-out',
      fleetOut,
      ...args,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let ready = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && /^fleet:/m.test(out)) {
        ready = true;
        const fleet = readFileSync(fleetOut, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as DeviceTarget);
        resolve({ fleet });
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr: err }));
  });
}

async function push(device: DeviceTarget, tls: { ca: string; cert?: string; key?: string }): Promise<number> {
  const dispatcher = createDispatcher({
    connectionsPerOrigin: 2,
    keepAliveTimeoutMs: 1000,
    connectTimeoutMs: 2000,
    tls,
  });
  dispatchers.push(dispatcher);
  const sent = await attemptPush(
    { dispatcher },
    { rolloutId: 'cli-tls', device: { ...device, priority: 0 }, artifact, attemptTimeoutMs: 5000 },
    new AbortController().signal,
  );
  return sent.status;
}

describe('simulator CLI over TLS', () => {
  it('serves HTTPS with --tls-cert and --tls-key: the fleet has https URLs and a push verified by the CA succeeds', async () => {
    const run = await simulator(['--tls-cert', pki.device.certPath, '--tls-key', pki.device.keyPath]);
    if (!('fleet' in run)) throw new Error(`simulator exited ${run.code}: ${run.stderr}`);
    expect(run.fleet.map((d) => d.url.slice(0, 8))).toEqual(['https://', 'https://']);
    expect(await push(run.fleet[0]!, { ca: pki.deviceCa.cert })).toBe(200);
  });

  it('demands a client certificate signed by --tls-client-ca (mutual TLS)', async () => {
    const run = await simulator([
      '--tls-cert',
      pki.device.certPath,
      '--tls-key',
      pki.device.keyPath,
      '--tls-client-ca',
      pki.clientCa.certPath,
    ]);
    if (!('fleet' in run)) throw new Error(`simulator exited ${run.code}: ${run.stderr}`);
    const [first, second] = run.fleet;
    expect(await push(first!, { ca: pki.deviceCa.cert, cert: pki.client.cert, key: pki.client.key })).toBe(
      200,
    );
    await expect(push(second!, { ca: pki.deviceCa.cert })).rejects.toBeInstanceOf(PushAttemptError);
  });

  it.each([
    [
      ['--tls-cert', 'missing.pem', '--tls-key', 'k.pem'],
      /--tls-cert \S*missing\.pem: cannot be read \(ENOENT\)/,
    ],
    [['--tls-key', 'k.pem'], /--tls-cert is missing: HTTPS needs both --tls-cert FILE and --tls-key FILE/],
    [['--tls-client-ca', 'ca.pem'], /--tls-client-ca needs --tls-cert and --tls-key/],
  ])('refuses %j with a message naming the flag, exit 1', async (args, message) => {
    const run = await simulator(args);
    expect(run).toMatchObject({ code: 1 });
    expect('stderr' in run ? run.stderr : '').toMatch(message);
  });

  it('names the flag and file when --tls-key holds a certificate instead of a key', async () => {
    const run = await simulator(['--tls-cert', pki.device.certPath, '--tls-key', pki.device.certPath]);
    expect(run).toMatchObject({ code: 1 });
    expect('stderr' in run ? run.stderr : '').toContain(
      `--tls-key ${pki.device.certPath}: not a PEM private key`,
    );
  });
});
