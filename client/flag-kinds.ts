/**
 * How a settings flag's value is written on the command line, one kind at a time: how its text
 * is read into a `RolloutSettings` value and how a value is written back (usage defaults, the
 * Web UI details, messages). Syntax only: ranges are `validateSettings`'s business.
 */
import type { RolloutSettings, WaveSpec } from '../workflows/settings.js';
import { describeWave, parseWaves } from '../workflows/settings.js';
import {
  durationHint,
  formatDuration,
  parseDecimal,
  parseDuration,
  parseRatio,
  parseWholeNumber,
} from './args.js';

export const FlagKind = {
  /** Whole number: `500`. */
  Count: 'count',
  /** Duration with a unit: `500ms`, `30s`, `2m`, `1h` (stored in ms). */
  Duration: 'duration',
  /** Ratio from 0 to 1: `0.2` (or `20%`). */
  Ratio: 'ratio',
  /** Decimal number: `2`, `1.5`. */
  Number: 'number',
  /** Devices per second: `10` or `10/s`, `0.5/s`; 0 = no limit. */
  Rate: 'rate',
  /** Cumulative waves: `1%,10%,50%,100%`, counts, `1%:0.05` with a wave's own threshold. */
  Waves: 'waves',
  /** One of a fixed set of words (`choices`). */
  Choice: 'choice',
  /** An http(s) URL (template). */
  Url: 'url',
  /** A switch without a value: present = on. */
  Switch: 'switch',
} as const;
export type FlagKind = (typeof FlagKind)[keyof typeof FlagKind];

/** Any value a settings field holds. */
export type SettingValue = RolloutSettings[keyof RolloutSettings];

/** The value, or what is wrong with the text (without a `(got …)`; the caller adds the typed text). */
export type KindParse = { value: SettingValue } | { message: string };

/** Kinds whose text is read as one number (NaN when it is not one). */
const NUMBER_READERS: Partial<Record<FlagKind, (text: string) => number>> = {
  count: parseWholeNumber,
  ratio: parseRatio,
  number: parseDecimal,
  rate: parseRate,
};

/** Reads `raw` as a value of `kind`; a number that is not one is NaN, for the caller to explain. */
export function parseKind(kind: FlagKind, raw: string, choices: readonly string[] = []): KindParse {
  const readNumber = NUMBER_READERS[kind];
  if (readNumber) return { value: readNumber(raw) };
  switch (kind) {
    case FlagKind.Duration: {
      const parsed = parseDuration(raw);
      return 'ms' in parsed ? { value: parsed.ms } : { message: durationHint(parsed.error) };
    }
    case FlagKind.Waves:
      try {
        return { value: parseWaves(raw) };
      } catch (err) {
        return { message: (err as Error).message };
      }
    case FlagKind.Choice:
      return choices.includes(raw) ? { value: raw } : { message: `must be ${choices.join(' or ')}` };
    case FlagKind.Switch:
      return { value: true };
    default:
      return { value: raw.trim() };
  }
}

/** `10`, `10/s`, `0.5 /s` → devices per second; NaN when it is not such a number. */
export function parseRate(text: string): number {
  const match = /^\s*([^/]*?)\s*(?:\/\s*s)?\s*$/.exec(text);
  return match?.[1] ? parseDecimal(match[1]) : Number.NaN;
}

/** A value as a user writes it (`30s`, `500`, `0.2`, `10/s`, `1%,10%,100%`). */
export function formatKind(kind: FlagKind, value: SettingValue): string {
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return formatWaves(value);
  switch (kind) {
    case FlagKind.Duration:
      return value === 0 ? '0s' : formatDuration(value as number);
    case FlagKind.Rate:
      return value === 0 ? 'no limit' : `${value}/s`;
    case FlagKind.Switch:
      return value === true ? 'on' : 'off';
    default:
      return String(value);
  }
}

/** `1%,10%,100%`, or `one wave` when there are none. */
export function formatWaves(waves: readonly WaveSpec[]): string {
  return waves.length === 0 ? 'one wave' : waves.map(describeWave).join(',');
}
