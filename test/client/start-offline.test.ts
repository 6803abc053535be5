/**
 * `rollout start` refuses bad input before it contacts Temporal: the CLI runs as a child
 * process against a TCP listener standing in for Temporal, which must see no connection.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OfflineCli, Run } from './offline-cli.js';
import { offlineCli } from './offline-cli.js';

let cli: OfflineCli;
const rollout = (args: string[], env?: Record<string, string>): Promise<Run> => cli.rollout(args, env);

beforeAll(async () => {
  cli = await offlineCli();
  const { dir } = cli;
  writeFileSync(
    join(dir, 'good.ndjson'),
    '{"id":"a","url":"http://127.0.0.1:9/a"}\n{"id":"b","url":"http://127.0.0.1:9/b"}\n',
  );
  writeFileSync(
    join(dir, 'bad.ndjson'),
    '{"id":"a","url":"http://127.0.0.1:9/a"}\n{"id":"b","url":"ftp://x"}\n{"id":"a","url":"http://127.0.0.1:9/c"}\n',
  );
  writeFileSync(
    join(dir, 'hosts.ndjson'),
    [
      '{"id":"a","url":"http://127.0.0.1:9/a"}',
      '{"id":"b","url":"https://evil.example.org/b"}',
      '{"id":"c","url":"http://127.0.0.1:9/c","statusUrl":"http://localhost:9/c"}',
      '{"id":"d","url":"https://d.example.com/d"}',
    ].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'fw.bin'), Buffer.alloc(1024, 7));
  mkdirSync(join(dir, 'folder'));
});

afterAll(async () => {
  await cli?.close();
});

// Each case is a separate process; run them side by side.
describe.concurrent('rollout start without Temporal', () => {
  it.for<[string, string[], RegExp]>([
    [
      'an invalid fleet file (its problems as the parser lists them)',
      ['--fleet', 'bad.ndjson', '--artifact', 'fw.bin'],
      /^invalid fleet file bad\.ndjson \(2 problems\):\nbad\.ndjson:2: .*http or https.*\nbad\.ndjson:3: .*duplicate/,
    ],
    [
      'a missing fleet file',
      ['--fleet', 'missing.ndjson', '--artifact', 'fw.bin'],
      /^rollout start: --fleet missing\.ndjson: cannot read \(ENOENT\)/,
    ],
    [
      'a missing artifact',
      ['--fleet', 'good.ndjson', '--artifact', 'missing.bin'],
      /^rollout start: --artifact missing\.bin: cannot read \(ENOENT\)/,
    ],
    [
      'an artifact that is a directory',
      ['--fleet', 'good.ndjson', '--artifact', 'folder'],
      /^rollout start: --artifact folder: is a directory/,
    ],
    [
      'a bad flag value',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--max-in-flight', 'x'],
      /^rollout start: --max-in-flight: must be a whole number from 1 to 10000 \(got "x"\)\n$/,
    ],
    [
      'a duration without a unit',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--attempt-timeout', '30'],
      /^rollout start: --attempt-timeout: needs a unit/,
    ],
    [
      'a --rate that is not a number of devices per second',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--rate', '10/min'],
      /^rollout start: --rate: must be a number of devices per second from 0 \(no limit\) to 100000 \(got "10\/min"\)\n$/,
    ],
    [
      'a negative --rate',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--rate=-5'],
      /^rollout start: --rate: must be a number of devices per second/,
    ],
    [
      'waves that shrink',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--waves', '50%,10%'],
      /^rollout start: --waves: wave 2: sizes are cumulative and must grow \(50% then 10%\)/,
    ],
    [
      '--approve-waves without waves',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--approve-waves'],
      /^rollout start: --approve-waves: without --waves the whole fleet is one wave/,
    ],
    [
      'an unknown breaker action',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--on-breaker', 'stop'],
      /^rollout start: --on-breaker: must be halt or pause \(got "stop"\)/,
    ],
    [
      'a verify URL that is not http(s)',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--verify', 'devices/{id}'],
      /^rollout start: --verify: must be an http\(s\) URL template/,
    ],
    ['no --fleet', ['--artifact', 'fw.bin'], /^rollout start: --fleet: required/],
    [
      'fleet URLs on hosts --allow-hosts does not list (file, line and host)',
      ['--fleet', 'hosts.ndjson', '--artifact', 'fw.bin', '--allow-hosts', '127.0.0.1,*.example.com'],
      new RegExp(
        '^invalid fleet file hosts\\.ndjson \\(2 problems\\):\n' +
          'hosts\\.ndjson:2: "url" host evil\\.example\\.org:443 is not in --allow-hosts \\(127\\.0\\.0\\.1,\\*\\.example\\.com\\) — fix the URL, or add the host to --allow-hosts\n' +
          'hosts\\.ndjson:3: "statusUrl" host localhost:9 is not in --allow-hosts .*\n$',
      ),
    ],
    [
      'a bad --allow-hosts entry',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--allow-hosts', '127.0.0.1,https://x.example.com'],
      /^rollout start: --allow-hosts: entry 2 "https:\/\/x\.example\.com" is not a host — write a host name or address, e\.g\. device\.example\.com, not a URL \(e\.g\. --allow-hosts '\*\.devices\.example\.com,10\.0\.0\.5:8443'\)\n$/,
    ],
    [
      'a --verify URL on a host --allow-hosts does not list',
      ['--fleet', 'good.ndjson', '--artifact', 'fw.bin', '--allow-hosts', '127.0.0.1'].concat([
        '--verify',
        'https://status.internal/devices/{id}',
      ]),
      /^rollout start: --verify: the host status\.internal:443 is not in --allow-hosts \(127\.0\.0\.1\) — fix the status URL, or add its host to --allow-hosts\n$/,
    ],
    [
      'a per-device --verify host --allow-hosts does not list',
      [
        '--fleet',
        'good.ndjson',
        '--artifact',
        'fw.bin',
        '--allow-hosts',
        '127.0.0.1,a.status.internal',
      ].concat(['--verify', 'http://{id}.status.internal/version']),
      /^invalid fleet file good\.ndjson \(1 problem\):\ngood\.ndjson:2: --verify URL host b\.status\.internal:80 is not in --allow-hosts/,
    ],
  ])('exits 1 on %s, before connecting', async ([, args, expected], { expect }) => {
    const run = await rollout(['start', ...args]);
    expect(run.stderr).toMatch(expected);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    // No case connects, so whichever finishes first, none may have.
    expect(cli.connections()).toBe(0);
  });

  it('checks flags before it reads the fleet', async () => {
    const run = await rollout([
      'start',
      '--fleet',
      'missing.ndjson',
      '--artifact',
      'fw.bin',
      '--batch-size',
      '0',
    ]);
    expect(run.stderr).toBe('rollout start: --batch-size: must be a whole number from 1 to 1000 (got "0")\n');
    expect(run.code).toBe(1);
  });

  it('names TEMPORAL_ADDRESS and `npm run server` when Temporal cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((ready) => closed.listen(0, '127.0.0.1', ready));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const run = await rollout(['start', '--fleet', 'good.ndjson', '--artifact', 'fw.bin'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_CONNECT_TIMEOUT_MS: '500',
    });
    expect(run.stderr).toMatch(
      /^rollout start: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS\).*npm run server/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
  });

  it('starts (contacts Temporal) once every fleet URL is on a host --allow-hosts lists', async () => {
    const closed = createServer();
    await new Promise<void>((ready) => closed.listen(0, '127.0.0.1', ready));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const args = ['--fleet', 'hosts.ndjson', '--artifact', 'fw.bin'];
    const run = await rollout(
      ['start', ...args, '--allow-hosts', '127.0.0.1, localhost:9, evil.example.org, *.example.com'],
      { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_CONNECT_TIMEOUT_MS: '500' },
    );
    expect(run.stderr).toMatch(
      /^rollout start: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS\)/,
    );
    expect(run.code).toBe(1);
  });

  it('names a bad environment variable', async () => {
    const run = await rollout(['start', '--fleet', 'good.ndjson', '--artifact', 'fw.bin'], {
      TEMPORAL_ADDRESS: 'nowhere',
    });
    expect(run.stderr).toMatch(/^rollout start: TEMPORAL_ADDRESS="nowhere": must be host:port/);
    expect(run.code).toBe(1);
  });
});

describe.concurrent('rollout usage', () => {
  it('lists every command and the start flags with their defaults', async () => {
    const run = await rollout(['help']);
    expect(run.code).toBe(0);
    for (const text of [
      'start',
      'status',
      'cancel',
      'list',
      'results',
      'pause ID [--reason TEXT]',
      'resume ID',
      'approve ID',
      'promote ID',
      'set ID [--rate N] [--max-in-flight N] [--failure-threshold RATIO]',
      '--max-in-flight N',
      '[100]',
      '[30s]',
      '--rate N',
      '[no limit]',
      '--waves LIST',
      '--bake DUR',
      '--approve-waves',
      '--on-breaker halt|pause',
      '[halt]',
      '--verify URL-TEMPLATE',
      '--verify-timeout DUR',
      '--verify-interval DUR',
      '--allow-hosts LIST',
    ]) {
      expect(run.stdout).toContain(text);
    }
  });

  it('exits 1 with the usage on an unknown command', async () => {
    const run = await rollout(['deploy']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Usage:');
    expect(run.stderr).toContain('rollout: unknown command "deploy"');
  });

  it('exits 1 on an unknown rollout id format error without a stack trace', async () => {
    const run = await rollout(['status']);
    expect(run.stderr).toBe('rollout status: missing ID — usage: rollout status ID\n');
    expect(run.code).toBe(1);
  });
});
