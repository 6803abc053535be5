import { describe, expect, it } from 'vitest';
import { listQuery, statusFilter } from '../../client/commands/list.js';
import { deviceRange } from '../../client/commands/results.js';
import { parseSetArgs } from '../../client/commands/set.js';
import { CliError } from '../../client/errors.js';
import { parseRate } from '../../client/flag-kinds.js';
import { makePlan } from '../../workflows/plan.js';
import type { RolloutProgress } from '../../workflows/definitions.js';

describe('parseRate', () => {
  it.each([
    ['10', 10],
    ['10/s', 10],
    ['0.5/s', 0.5],
    [' 20 / s ', 20],
    ['0', 0],
  ])('reads %j as %d devices/s', (text, rate) => {
    expect(parseRate(text)).toBe(rate);
  });

  it.each(['', '/s', '10/m', '10 per s', '-1', '1e3', 'fast', '10/s/s'])('refuses %j', (text) => {
    expect(parseRate(text)).toBeNaN();
  });
});

describe('parseSetArgs', () => {
  const linesOf = (argv: string[]): readonly string[] => {
    try {
      parseSetArgs(argv);
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      return (err as CliError).lines;
    }
    throw new Error('expected a CliError');
  };

  it('returns only the settings given', () => {
    expect(parseSetArgs(['r-1', '--rate', '5/s'])).toEqual({ id: 'r-1', change: { rate: 5 } });
    expect(parseSetArgs(['r-1', '--max-in-flight', '20', '--failure-threshold', '10%'])).toEqual({
      id: 'r-1',
      change: { maxInFlight: 20, failureThreshold: 0.1 },
    });
  });

  it('accepts rate 0 (no limit)', () => {
    expect(parseSetArgs(['r-1', '--rate', '0']).change).toEqual({ rate: 0 });
  });

  it('refuses out-of-range values with the same words as start', () => {
    expect(linesOf(['r-1', '--max-in-flight', '10001'])).toEqual([
      '--max-in-flight: must be a whole number from 1 to 10000 (got "10001")',
    ]);
  });

  it('names only the flag whose value does not parse', () => {
    expect(linesOf(['r-1', '--failure-threshold', '1.5'])).toEqual([
      '--failure-threshold: must be a ratio from 0 to 1, e.g. 0.2 (got "1.5")',
    ]);
  });

  it('needs the id', () => {
    expect(linesOf(['--rate', '5'])).toEqual(['missing ID — usage: rollout set ID']);
  });
});

describe('list --status', () => {
  it('takes one status or several', () => {
    expect(statusFilter(undefined)).toEqual([]);
    expect(statusFilter('paused')).toEqual(['paused']);
    expect(statusFilter('Paused, waiting,paused')).toEqual(['paused', 'waiting']);
  });

  it('names the words that are not statuses', () => {
    expect(statusFilter('paused,stuck,gone')).toEqual({
      flag: '--status',
      message:
        '"stuck", "gone" are not rollout statuses — use running, paused, waiting, completed, halted, cancelled (several with commas)',
    });
  });

  it('filters on the RolloutStatus search attribute', () => {
    expect(listQuery([])).toBe("WorkflowType = 'rolloutWorkflow' AND ExecutionStatus != 'ContinuedAsNew'");
    expect(listQuery(['paused', 'waiting'])).toBe(
      "WorkflowType = 'rolloutWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND RolloutStatus IN ('paused', 'waiting')",
    );
  });
});

describe('results device ranges', () => {
  const layout = (plan?: RolloutProgress['plan']): Parameters<typeof deviceRange>[0] => ({
    rolloutId: 'r-1',
    total: 1050,
    batchSize: 500,
    batches: { total: 3, started: 0, done: 0, running: 0 },
    fleet: { path: '/f', count: 1050, sha256: 'x' },
    ...(plan ? { plan } : {}),
  });

  it('cuts n * batchSize slices for progress without a plan', () => {
    expect([0, 1, 2].map((n) => deviceRange(layout(), n))).toEqual([
      { start: 0, count: 500 },
      { start: 500, count: 500 },
      { start: 1000, count: 50 },
    ]);
  });

  it('follows the plan when progress has one', () => {
    const plan = makePlan(1050, 300);
    expect([0, 1, 3].map((n) => deviceRange(layout(plan), n))).toEqual([
      { start: 0, count: 300 },
      { start: 300, count: 300 },
      { start: 900, count: 150 },
    ]);
  });
});
