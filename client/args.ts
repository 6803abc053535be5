/**
 * Command-line parsing: `node:util` `parseArgs` in strict mode, with its errors rewritten to
 * name the flag and say what to do, plus the value parsers flags share (durations, ratios,
 * whole numbers). Every problem is a `--flag: message` line; `main.ts` prefixes the command.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { suggest } from '../shared/fleet-record.js';
import { CliError } from './errors.js';

/** The options of one command, as `parseArgs` takes them. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** A flag with a bad value. */
export interface FlagProblem {
  /** The flag as typed on the command line, e.g. `--max-in-flight`. */
  flag: string;
  message: string;
}

/** `--flag: message`, the form every flag problem is printed in. */
export function problemLine(problem: FlagProblem): string {
  return `${problem.flag}: ${problem.message}`;
}

/**
 * Parses `argv` against `options` (strict: an unknown flag, a missing value or a value given to
 * a switch is an error naming the flag). Throws `CliError`.
 */
export function parseFlags<T extends FlagOptions>(argv: readonly string[], options: T, command: string) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new CliError(parseErrorLine(err, options, command));
  }
}

/** The `--flag: message` line for a `parseArgs` error. */
function parseErrorLine(err: unknown, options: FlagOptions, command: string): string {
  const error = err as Error & { code?: string };
  const flag = /'(-{1,2}[^' =]+)/.exec(error.message)?.[1] ?? '?';
  const name = flag.replace(/^-+/, '');
  const help = `see \`rollout help ${command}\``;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const known = Object.keys(options);
    const hint = suggest(name, known).replace(/"([^"]+)"/, '"--$1"');
    return `${flag}: unknown flag for \`rollout ${command}\`${hint} — ${help}`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (options[name]?.type === 'boolean')
      return `${flag}: is a switch and takes no value — write just ${flag}`;
    if (/ambiguous/.test(error.message)) {
      return `${flag}: needs a value; for a value starting with "-" write ${flag}=VALUE`;
    }
    return `${flag}: needs a value — ${help}`;
  }
  return `${error.message.split('\n')[0] ?? 'invalid arguments'} — ${help}`;
}

/** Exactly `names.length` positional arguments, or a `CliError` saying which is missing or extra. */
export function positionals(given: readonly string[], names: readonly string[], command: string): string[] {
  if (given.length < names.length) {
    const missing = names.slice(given.length).join(' ');
    throw new CliError(`missing ${missing} — usage: rollout ${command} ${names.join(' ')}`);
  }
  if (given.length > names.length) {
    const extra = given.slice(names.length).map((g) => JSON.stringify(g));
    throw new CliError(`unexpected argument ${extra.join(' ')} — see \`rollout help ${command}\``);
  }
  return [...given];
}

const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60 * 1000, h: 3600 * 1000 };

/** Why a duration cannot be parsed, or its value in ms. */
export type DurationParse = { ms: number } | { error: 'noUnit' | 'invalid' };

/**
 * A duration with a unit: `500ms`, `1s`, `1.5s`, `2m`, `1h`. A bare number is refused: it
 * could mean seconds or milliseconds, and a wrong guess is off by a factor of 1000.
 */
export function parseDuration(text: string): DurationParse {
  const match = DURATION_RE.exec(text.trim());
  if (!match) return { error: /^\d+(\.\d+)?$/.test(text.trim()) ? 'noUnit' : 'invalid' };
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  // 1.1 * 1000 is 1100.0000000000002 in floating point: snap to the whole millisecond meant.
  const whole = Math.round(ms);
  return { ms: Math.abs(ms - whole) < 1e-6 ? whole : ms };
}

/** What a bad duration should have looked like. */
export function durationHint(error: 'noUnit' | 'invalid'): string {
  return error === 'noUnit'
    ? 'needs a unit, since a bare number could be seconds or milliseconds: write 500ms, 30s, 2m or 1h'
    : 'must be a duration such as 500ms, 30s, 2m or 1h';
}

/** The shortest exact way to write `ms`: `500ms`, `30s`, `2m`, `1h`, `90s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0 || !Number.isInteger(ms)) return `${ms}ms`;
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A whole number written in decimal digits (no sign, no exponent), or NaN. */
export function parseWholeNumber(text: string): number {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/** A plain decimal number (`0.2`, `.5`, `2`, `1.5`), or NaN; no exponents, hex or `Infinity`. */
export function parseDecimal(text: string): number {
  const trimmed = text.trim();
  return /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/** A ratio from 0 to 1 (`0.2`); NaN when it is not one. `20%` is accepted as 0.2. */
export function parseRatio(text: string): number {
  const trimmed = text.trim();
  const value = trimmed.endsWith('%') ? parseDecimal(trimmed.slice(0, -1)) / 100 : parseDecimal(trimmed);
  return value >= 0 && value <= 1 ? value : Number.NaN;
}

/** `--limit`-style whole number in [min, max], or a problem naming the flag. */
export function wholeNumberFlag(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number | FlagProblem {
  if (raw === undefined) return fallback;
  const value = parseWholeNumber(raw);
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  return { flag, message: `must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})` };
}
