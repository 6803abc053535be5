/**
 * Bad input through the real CLI (`npm run --silent rollout -- …`, a child process) against the
 * real dev server, a worker polling the task queue and a running simulator fleet: every case
 * exits 1 with a message that names what is wrong (file:line, flag, variable, id), starts no
 * rollout, and leaves the simulator without a single request — not even a TCP connection.
 *
 * `test/client/start-offline.test.ts` checks the same refusals without a fleet to push to; the
 * inputs it covers verbatim (an NDJSON file with an ftp URL and a duplicate, missing files, a
 * directory as artifact, single bad flag values) are not repeated here.
 */
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { CliRun } from '../helpers/cli.js';
import { runRollout } from '../helpers/cli.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv } from '../helpers/temporal-env.js';
import { scratchDir, writeArtifact } from './fault-fixtures.js';

let env: TestEnv;
let sim: DeviceSimulator;
let dir: string;
let counter = 0;

/** `rollout <args>` as users run it, against this file's server, task queue and data folder. */
function rollout(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runRollout(args, { ...env.processEnv(), ...extraEnv });
}

/** A file in the scratch folder: its path, written with `text` when given. */
function file(name: string, text?: string): string {
  const path = `${dir}/${name}`;
  if (text !== undefined) writeFileSync(path, text);
  return path;
}

/** Lines of the simulator's devices, as NDJSON. */
function deviceLines(count = sim.ids.length): string[] {
  return sim.ids.slice(0, count).map((id) => JSON.stringify({ id, url: sim.deviceUrl(id) }));
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Nothing reached a device, and no rollout `id` exists. */
async function expectNothingPushed(id: string): Promise<void> {
  expect(sim.stats()).toMatchObject({ connections: 0, attempts: 0, statusPolls: 0 });
  await expect(env.client.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

beforeAll(async () => {
  env = await createTestEnv('bad-input');
  await env.startWorker();
  sim = await env.simulator(4);
  dir = scratchDir(env, 'bad-input');
  await sim.writeFleet(file('fleet.ndjson'));
  writeArtifact(file('fw.bin'), 4096);
});

afterAll(async () => {
  // Whatever a case might have started would have pushed by now.
  expect(sim.stats().connections).toBe(0);
  await env?.close();
});

/** `rollout start` with `args`, under a fresh `--id`; expects exit 1, `message`, nothing pushed. */
async function refuses(args: string[], message: RegExp): Promise<CliRun> {
  const id = `bad-input-${process.pid}-${counter++}`;
  const run = await rollout(['start', '--id', id, ...args]);
  expect(run.stderr).toMatch(message);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  await expectNothingPushed(id);
  return run;
}

// Each case is a separate CLI process; run a few side by side.
describe.concurrent('a fleet file with bad lines', () => {
  it('names the file and line of a malformed NDJSON line', async () => {
    const [a, b, c] = deviceLines(3);
    const fleet = file('malformed.ndjson', `${a}\n${b}\n{"id":"x","url":\n${c}\n`);
    await refuses(
      ['--fleet', fleet, '--artifact', file('fw.bin')],
      new RegExp(
        `^invalid fleet file ${escape(fleet)} \\(1 problem\\):\\n${escape(fleet)}:3: not valid JSON`,
      ),
    );
  });

  it('names the line of a JSON array that does not parse', async () => {
    const [a, b] = deviceLines(2);
    const fleet = file('malformed.json', `[\n${a},\n${b}\n{"id":"x"}\n]\n`);
    await refuses(
      ['--fleet', fleet, '--artifact', file('fw.bin')],
      new RegExp(`^invalid fleet file .*\\n${escape(fleet)}:4: not valid JSON .* — fix the JSON array`),
    );
  });

  it('names each CSV row with the wrong number of fields or an empty id', async () => {
    const rows = sim.ids.map((id) => `${id},${sim.deviceUrl(id)}`);
    const fleet = file('malformed.csv', `id,url\n${rows[0]}\n${rows[1]},extra\n,${sim.deviceUrl('x')}\n`);
    const run = await refuses(['--fleet', fleet, '--artifact', file('fw.bin')], /\(2 problems\)/);
    expect(run.stderr).toContain(`${fleet}:3: expected 2 fields (id,url), got 3`);
    expect(run.stderr).toContain(`${fleet}:4: "id" is empty`);
  });

  it('names both lines of a duplicate id in CSV and in a JSON array', async () => {
    const [first, second] = sim.ids;
    const csv = file(
      'duplicate.csv',
      `id,url\n${first},${sim.deviceUrl(first!)}\n${second},${sim.deviceUrl(second!)}\n${first},${sim.deviceUrl(second!)}\n`,
    );
    await refuses(
      ['--fleet', csv, '--artifact', file('fw.bin')],
      new RegExp(
        `${escape(csv)}:4: duplicate id "${first}" \\(first on line 2\\) — give every device a unique id`,
      ),
    );
    const lines = deviceLines(2);
    const json = file('duplicate.json', `[\n${lines[0]},\n${lines[1]},\n${lines[0]}\n]\n`);
    await refuses(['--fleet', json, '--artifact', file('fw.bin')], new RegExp(`duplicate id "${first}"`));
  });

  it.for<[string, string]>([
    ['file:///etc/passwd', 'must be http or https'],
    ['javascript:alert(1)', 'must be http or https'],
    ['ws://127.0.0.1/devices/x', 'must be http or https'],
    ['127.0.0.1:9/devices/x', 'is not a valid URL'],
  ])('refuses the URL %s among valid devices', async ([url, reason]) => {
    const fleet = file(
      `url-${counter++}.ndjson`,
      [...deviceLines(), JSON.stringify({ id: 'odd', url })].join('\n'),
    );
    await refuses(
      ['--fleet', fleet, '--artifact', file('fw.bin')],
      new RegExp(
        `${escape(fleet)}:${sim.ids.length + 1}: "url" ${reason} \\(got "${escape(url)}"\\) — fix the URL`,
      ),
    );
  });
});

describe.concurrent('an artifact that cannot be read', () => {
  it('refuses a dangling symlink', async () => {
    const link = file('dangling.bin');
    symlinkSync(file('nowhere.bin'), link);
    await refuses(
      ['--fleet', file('fleet.ndjson'), '--artifact', link],
      new RegExp(`^rollout start: --artifact ${escape(link)}: cannot read \\(ENOENT\\) — check the path`),
    );
  });

  it('refuses a path through a file', async () => {
    const path = `${file('fw.bin')}/inside`;
    await refuses(
      ['--fleet', file('fleet.ndjson'), '--artifact', path],
      new RegExp(`^rollout start: --artifact ${escape(path)}: cannot read \\(ENOTDIR\\)`),
    );
  });

  it('refuses a device file', async () => {
    await refuses(
      ['--fleet', file('fleet.ndjson'), '--artifact', '/dev/null'],
      /^rollout start: --artifact \/dev\/null: is not a regular file — give the file to push/,
    );
  });

  // Root reads any file whatever its mode, so this case needs an ordinary user.
  it.skipIf(process.getuid?.() === 0)('refuses a file it may not read', async () => {
    const locked = file('locked.bin', 'firmware');
    chmodSync(locked, 0o000);
    await refuses(
      ['--fleet', file('fleet.ndjson'), '--artifact', locked],
      new RegExp(`^rollout start: --artifact ${escape(locked)}: cannot read \\(EACCES\\)`),
    );
  });
});

describe.concurrent('invalid or contradictory flags', () => {
  it.for<[string, string[], RegExp]>([
    [
      '--max-interval below --initial-interval',
      ['--initial-interval', '2s', '--max-interval', '1s'],
      /^rollout start: --max-interval: must not be below the initial interval \(1s < 2s\)/,
    ],
    [
      '--device-timeout below --attempt-timeout',
      ['--attempt-timeout', '2s', '--device-timeout', '1s'],
      /^rollout start: --device-timeout: must not be below the attempt timeout \(1s < 2s\)/,
    ],
    [
      'a failure threshold above 1',
      ['--failure-threshold', '1.5'],
      /^rollout start: --failure-threshold: must be a ratio from 0 to 1, e.g. 0.2 \(got "1.5"\)/,
    ],
    [
      'zero attempts',
      ['--max-attempts', '0'],
      /^rollout start: --max-attempts: must be a whole number from 1 to 100 \(got "0"\)/,
    ],
    ['a backoff below 1', ['--backoff', '0.5'], /^rollout start: --backoff: must be a number from 1 to 100/],
    [
      'an unknown mode',
      ['--mode', 'turbo'],
      /^rollout start: --mode: must be per-device or fast \(got "turbo"\)/,
    ],
    [
      'a misspelt flag',
      ['--max-inflight', '5'],
      /^rollout start: --max-inflight: unknown flag for `rollout start` \(did you mean "--max-in-flight"\?\)/,
    ],
    ['a flag without its value', ['--max-attempts'], /^rollout start: --max-attempts: needs a value/],
    ['a stray argument', ['now'], /^rollout start: "now": unexpected argument/],
  ])('exits 1 on %s', async ([, flags, message]) => {
    await refuses(['--fleet', file('fleet.ndjson'), '--artifact', file('fw.bin'), ...flags], message);
  });
});

describe('an unreachable Temporal server', () => {
  let address: string;

  beforeAll(async () => {
    address = `127.0.0.1:${await freePort()}`; // bound and released: nothing listens there
  });

  it.for<[string, () => string[]]>([
    ['start', () => ['--fleet', file('fleet.ndjson'), '--artifact', file('fw.bin')]],
    ['status', () => ['some-rollout']],
    ['cancel', () => ['some-rollout']],
    ['results', () => ['some-rollout']],
  ])('names TEMPORAL_ADDRESS when `rollout %s` cannot connect', async ([command, args]) => {
    const run = await rollout([command, ...args()], {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_CONNECT_TIMEOUT_MS: '500',
    });
    expect(run.stderr).toMatch(
      new RegExp(`^rollout ${command}: cannot reach Temporal at ${escape(address)} \\(TEMPORAL_ADDRESS\\)`),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(sim.stats().connections).toBe(0);
  });
});

describe('a rollout id the server does not know', () => {
  it.for(['status', 'cancel', 'results'])('`rollout %s` names the unknown id', async (command) => {
    const id = `no-such-rollout-${process.pid}`;
    const run = await rollout([command, id]);
    expect(run.stderr).toContain(`no rollout "${id}"`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    await expectNothingPushed(id);
  });
});

describe('a rollout id already used', () => {
  it('refuses to start it again and pushes nobody a second time', async () => {
    const fleet = await env.simulator(3);
    await fleet.writeFleet(file('reused.ndjson'));
    const id = `bad-input-reused-${process.pid}`;
    const args = ['start', '--id', id, '--fleet', file('reused.ndjson'), '--artifact', file('fw.bin')];
    const first = await rollout([...args, '--wait', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(fleet.stats()).toMatchObject({ attempts: 3, devicesApplied: 3 });

    const again = await rollout(args);
    expect(again.stderr).toMatch(
      new RegExp(`a rollout with id "${id}" already exists \\(ids are never reused\\)`),
    );
    expect(again.code).toBe(1);
    // Had a second rollout started, its pushes would follow within a second or two.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(fleet.stats()).toMatchObject({ attempts: 3, duplicates: 0 });
  });
});
