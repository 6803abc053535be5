/**
 * `pause`, `resume`, `approve`, `promote`, `set` and `list` refuse bad input before they
 * contact Temporal (the stand-in must see no connection), and their help says how to use them.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { OfflineCli } from './offline-cli.js';
import { offlineCli } from './offline-cli.js';

let cli: OfflineCli;

beforeAll(async () => {
  cli = await offlineCli();
});

afterAll(async () => {
  await cli?.close();
});

describe.concurrent('operator commands without Temporal', () => {
  it.for<[string, string[], string]>([
    ['pause without an id', ['pause'], 'rollout pause: missing ID — usage: rollout pause ID\n'],
    [
      'resume with two ids',
      ['resume', 'a', 'b'],
      'rollout resume: unexpected argument "b" — see `rollout help resume`\n',
    ],
    [
      'approve with a flag it does not take',
      ['approve', 'r-1', '--reason', 'x'],
      'rollout approve: --reason: unknown flag for `rollout approve` — see `rollout help approve`\n',
    ],
    [
      'an empty pause reason',
      ['pause', 'r-1', '--reason', ' '],
      'rollout pause: --reason: must be 1 to 500 characters (got an empty one)\n',
    ],
    [
      'set without a change',
      ['set', 'r-1'],
      'rollout set: nothing to change — give at least one of --rate, --max-in-flight, --failure-threshold ' +
        '(usage: rollout set ID [--rate N] [--max-in-flight N] [--failure-threshold RATIO])\n',
    ],
    [
      'set with bad values, each named by its flag in usage order',
      ['set', 'r-1', '--failure-threshold', '2', '--rate', 'x', '--max-in-flight', '0'],
      'rollout set: --rate: must be a number of devices per second from 0 (no limit) to 100000 (got "x")\n' +
        'rollout set: --max-in-flight: must be a whole number from 1 to 10000 (got "0")\n' +
        'rollout set: --failure-threshold: must be a ratio from 0 to 1, e.g. 0.2 (got "2")\n',
    ],
    [
      'set with a setting that cannot change live',
      ['set', 'r-1', '--batch-size', '10'],
      'rollout set: --batch-size: unknown flag for `rollout set` — see `rollout help set`\n',
    ],
    [
      'list with an unknown status',
      ['list', '--status', 'paused,stuck'],
      'rollout list: --status: "stuck" is not a rollout status — use running, paused, waiting, completed, halted, cancelled (several with commas)\n',
    ],
  ])('exits 1 on %s, before connecting', async ([, args, expected], { expect }) => {
    const run = await cli.rollout(args);
    expect(run.stderr).toBe(expected);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(cli.connections()).toBe(0);
  });

  it.for<[string, string[]]>([
    ['pause', ['Usage: rollout pause ID [--reason TEXT]', '--reason TEXT']],
    ['set', ['Usage: rollout set ID', '--rate N', '--max-in-flight N', '--failure-threshold RATIO']],
    ['list', ['--status S', 'paused,waiting']],
  ])('explains `rollout %s` in its help', async ([command, texts], { expect }) => {
    const run = await cli.rollout([command, '--help']);
    expect(run.code).toBe(0);
    for (const text of texts) expect(run.stdout).toContain(text);
  });
});
