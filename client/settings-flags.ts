/**
 * The rollout settings as flags: which flag sets which `RolloutSettings` field, how its value is
 * written, and the mapping of `validateSettings` problems (named by setting) back to flags.
 * Ranges are not repeated here: `validateSettings` is the one judge, so the CLI, the workflow
 * and later live changes accept exactly the same values.
 */
import type { NumericSetting, RolloutSettings } from '../workflows/settings.js';
import { DEFAULT_SETTINGS, PushMode, validateSettings } from '../workflows/settings.js';
import type { FlagProblem } from './args.js';
import {
  durationHint,
  formatDuration,
  parseDecimal,
  parseDuration,
  parseRatio,
  parseWholeNumber,
} from './args.js';

/** How a setting's value is written on the command line. */
export const FlagKind = {
  /** Whole number: `500`. */
  Count: 'count',
  /** Duration with a unit: `500ms`, `30s`, `2m`, `1h` (stored in ms). */
  Duration: 'duration',
  /** Ratio from 0 to 1: `0.2` (or `20%`). */
  Ratio: 'ratio',
  /** Decimal number: `2`, `1.5`. */
  Number: 'number',
} as const;
export type FlagKind = (typeof FlagKind)[keyof typeof FlagKind];

/** One settings flag. */
export interface SettingFlag {
  /** Flag name without dashes. */
  name: string;
  setting: NumericSetting;
  kind: FlagKind;
  /** One line for the usage text. */
  help: string;
}

/** Settings flags of `rollout start`, in usage order. */
export const SETTING_FLAGS: readonly SettingFlag[] = [
  { name: 'batch-size', setting: 'batchSize', kind: 'count', help: 'devices per batch child workflow' },
  {
    name: 'max-in-flight',
    setting: 'maxInFlight',
    kind: 'count',
    help: 'pushes in flight at once, whole rollout',
  },
  {
    name: 'max-attempts',
    setting: 'maxAttempts',
    kind: 'count',
    help: 'attempts per device, the first included',
  },
  {
    name: 'initial-interval',
    setting: 'initialIntervalMs',
    kind: 'duration',
    help: 'delay before the 2nd attempt',
  },
  {
    name: 'max-interval',
    setting: 'maxIntervalMs',
    kind: 'duration',
    help: 'longest delay between attempts',
  },
  {
    name: 'backoff',
    setting: 'backoffCoefficient',
    kind: 'number',
    help: 'each delay is the previous one times this',
  },
  {
    name: 'attempt-timeout',
    setting: 'attemptTimeoutMs',
    kind: 'duration',
    help: 'one attempt: connect + headers + body',
  },
  {
    name: 'device-timeout',
    setting: 'deviceTimeoutMs',
    kind: 'duration',
    help: 'one device, all attempts and delays',
  },
  {
    name: 'failure-threshold',
    setting: 'failureThreshold',
    kind: 'ratio',
    help: 'breaker trips above failed/finished',
  },
  { name: 'min-samples', setting: 'minSamples', kind: 'count', help: '...once this many devices finished' },
];

/** A setting's value as a user writes it (`30s`, `500`, `0.2`). */
export function formatSetting(flag: SettingFlag, value: number): string {
  return flag.kind === FlagKind.Duration ? formatDuration(value) : String(value);
}

/** Flag values as `parseArgs` returns them (strings for the settings flags). */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/** The settings the flags ask for (defaults for the rest), and every problem, one per flag. */
export function settingsFromFlags(values: FlagValues): {
  settings: RolloutSettings;
  problems: FlagProblem[];
} {
  const settings: RolloutSettings = { ...DEFAULT_SETTINGS };
  const problems: FlagProblem[] = [];
  const unparsable = new Set<keyof RolloutSettings>();
  for (const flag of SETTING_FLAGS) {
    const raw = values[flag.name];
    if (typeof raw !== 'string') continue;
    const parsed = parseValue(flag, raw);
    if (typeof parsed === 'number') settings[flag.setting] = parsed;
    else {
      unparsable.add(flag.setting);
      problems.push({ flag: `--${flag.name}`, message: `${parsed.message} (got ${JSON.stringify(raw)})` });
    }
  }
  const reported = new Set(unparsable);
  for (const problem of validateSettings(settings)) {
    if (problem.setting === 'mode') continue; // reported below with the flag's own words
    if (reported.has(problem.setting)) continue;
    reported.add(problem.setting);
    problems.push(toFlagProblem(problem.setting, problem.message, values));
  }
  const mode = values['mode'];
  if (typeof mode === 'string') {
    if ((Object.values(PushMode) as string[]).includes(mode)) settings.mode = mode as PushMode;
    else {
      reported.add('mode');
      problems.push({
        flag: '--mode',
        message: `must be ${Object.values(PushMode).join(' or ')} (got ${JSON.stringify(mode)})`,
      });
    }
  }
  const order = (p: FlagProblem): number => SETTING_FLAGS.findIndex((f) => `--${f.name}` === p.flag);
  return { settings, problems: problems.sort((a, b) => order(a) - order(b)) };
}

/** The number a flag's text stands for, or what is wrong with its syntax. */
function parseValue(flag: SettingFlag, raw: string): number | { message: string } {
  if (flag.kind === FlagKind.Duration) {
    const parsed = parseDuration(raw);
    return 'ms' in parsed ? parsed.ms : { message: durationHint(parsed.error) };
  }
  const value =
    flag.kind === FlagKind.Count
      ? parseWholeNumber(raw)
      : flag.kind === FlagKind.Ratio
        ? parseRatio(raw)
        : parseDecimal(raw);
  if (!Number.isNaN(value)) return value;
  // The setting's own rule says what a good value is (range included): ask it about NaN.
  const rule = validateSettings({ ...DEFAULT_SETTINGS, [flag.setting]: Number.NaN }).find(
    (p) => p.setting === flag.setting,
  );
  return { message: stripGot(rule?.message ?? `must be a ${flag.kind}`) };
}

/** A `validateSettings` problem, phrased for the flag that sets it. */
export function toFlagProblem(
  setting: keyof RolloutSettings,
  message: string,
  values: FlagValues,
): FlagProblem {
  const flag = SETTING_FLAGS.find((f) => f.setting === setting);
  if (flag === undefined) return { flag: `--${setting}`, message };
  const raw = values[flag.name];
  let text = message;
  if (flag.kind === FlagKind.Duration) {
    text = text
      .replace(/must be a whole number from (\d+) to (\d+)/, (_, a: string, b: string) => {
        return `must be a duration from ${formatDuration(Number(a))} to ${formatDuration(Number(b))}`;
      })
      .replace(/(\d+) ms\b/g, (_, n: string) => formatDuration(Number(n)));
  }
  if (typeof raw === 'string') text = `${stripGot(text)} (got ${JSON.stringify(raw)})`;
  else
    text = `${text} — the default is ${formatSetting(flag, DEFAULT_SETTINGS[flag.setting])}; set --${flag.name}`;
  return { flag: `--${flag.name}`, message: text };
}

/** The message without its trailing `(got …)`, which would show the parsed value, not the typed one. */
function stripGot(message: string): string {
  return message.replace(/\s*\(got [^)]*\)$/, '');
}
