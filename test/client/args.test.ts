import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  parseDecimal,
  parseDuration,
  parseFlags,
  parseRatio,
  parseWholeNumber,
  positionals,
  wholeNumberFlag,
} from '../../client/args.js';
import { CliError } from '../../client/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['1s', 1000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0s', 0],
    [' 30s ', 30_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ms });
  });

  it.each(['30', '1000', '1.5'])('refuses the bare number %j because the unit would be a guess', (text) => {
    expect(parseDuration(text)).toEqual({ error: 'noUnit' });
  });

  it.each(['', 'abc', '1d', '5 s', '-1s', '1S', 's', '1e3ms', '1m30s'])(
    'refuses %j as not a duration',
    (text) => {
      expect(parseDuration(text)).toEqual({ error: 'invalid' });
    },
  );

  it('keeps a fraction of a millisecond so validation can refuse it', () => {
    expect(parseDuration('1.5ms')).toEqual({ ms: 1.5 });
  });
});

describe('formatDuration', () => {
  it.each([
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1500ms'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 7 * 24 * 3_600_000]) {
      expect(parseDuration(formatDuration(ms))).toEqual({ ms });
    }
  });
});

describe('parseRatio', () => {
  it.each([
    ['0', 0],
    ['0.2', 0.2],
    ['.25', 0.25],
    ['1', 1],
    ['20%', 0.2],
    ['100%', 1],
  ])('reads %j as %d', (text, value) => {
    expect(parseRatio(text)).toBeCloseTo(value, 12);
  });

  it.each(['1.01', '2', '-0.1', '150%', 'abc', '', '1e-1', 'NaN', 'Infinity'])('refuses %j', (text) => {
    expect(parseRatio(text)).toBeNaN();
  });
});

describe('parseWholeNumber and parseDecimal', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['007', 7],
  ])('parseWholeNumber reads %j as %d', (text, n) => {
    expect(parseWholeNumber(text)).toBe(n);
  });

  it.each(['-1', '1.5', '1e3', '0x10', '', 'ten', '+1'])('parseWholeNumber refuses %j', (text) => {
    expect(parseWholeNumber(text)).toBeNaN();
  });

  it.each(['1e3', '0x10', 'Infinity', '-2', ''])('parseDecimal refuses %j', (text) => {
    expect(parseDecimal(text)).toBeNaN();
  });

  it('parseDecimal reads plain decimals', () => {
    expect(parseDecimal('1.5')).toBe(1.5);
    expect(parseDecimal('2')).toBe(2);
  });
});

describe('wholeNumberFlag', () => {
  it('returns the fallback when the flag is absent', () => {
    expect(wholeNumberFlag('--limit', undefined, 20, 1, 100)).toBe(20);
  });

  it('names the flag and quotes the value when it is out of range', () => {
    expect(wholeNumberFlag('--limit', '0', 20, 1, 100)).toEqual({
      flag: '--limit',
      message: 'must be a whole number from 1 to 100 (got "0")',
    });
  });
});

describe('parseFlags', () => {
  const options = {
    'batch-size': { type: 'string' },
    wait: { type: 'boolean' },
  } as const;

  const errorOf = (argv: string[]): string => {
    try {
      parseFlags(argv, options, 'start');
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      return (err as CliError).message;
    }
    throw new Error('expected a CliError');
  };

  it('parses known flags and positionals', () => {
    const { values, positionals: rest } = parseFlags(['--batch-size', '5', '--wait', 'x'], options, 'start');
    expect(values).toEqual({ 'batch-size': '5', wait: true });
    expect(rest).toEqual(['x']);
  });

  it.each([
    [['--rate', '5/s'], /^--rate: unknown flag for `rollout start`/],
    [['--rate=5/s'], /^--rate: unknown flag/],
    [['--batch-sise', '5'], /^--batch-sise: unknown flag .*did you mean "--batch-size"/],
    [['-x'], /^-x: unknown flag/],
    [['--batch-size'], /^--batch-size: needs a value/],
    [
      ['--batch-size', '-5'],
      /^--batch-size: needs a value; for a value starting with "-" write --batch-size=VALUE/,
    ],
    [['--wait=yes'], /^--wait: is a switch and takes no value/],
  ])('%j is an error naming the flag', (argv, expected) => {
    expect(errorOf(argv)).toMatch(expected);
  });

  it('accepts a value starting with "-" when written with =', () => {
    expect(parseFlags(['--batch-size=-5'], options, 'start').values['batch-size']).toBe('-5');
  });
});

describe('positionals', () => {
  it('returns exactly the expected arguments', () => {
    expect(positionals(['abc'], ['ID'], 'status')).toEqual(['abc']);
  });

  it('names a missing argument', () => {
    expect(() => positionals([], ['ID'], 'status')).toThrow('missing ID');
  });

  it('names an extra argument', () => {
    expect(() => positionals(['a', 'b'], ['ID'], 'status')).toThrow('unexpected argument "b"');
  });
});
