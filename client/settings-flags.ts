/**
 * The rollout settings as flags: which flag sets which `RolloutSettings` field, how its value is
 * written, and the mapping of `validateSettings` problems (named by setting) back to flags.
 * Ranges are not repeated here: `validateSettings` is the one judge, so the CLI, the workflow
 * and live changes (`rollout set`) accept exactly the same values.
 */
import type { RolloutSettings } from '../workflows/settings.js';
import {
  BreakerAction,
  DEFAULT_FAST_BATCH_SIZE,
  DEFAULT_SETTINGS,
  LIVE_SETTINGS,
  PushMode,
  validateSettings,
} from '../workflows/settings.js';
import type { FlagOptions, FlagProblem } from './args.js';
import { formatDuration } from './args.js';
import type { SettingValue } from './flag-kinds.js';
import { FlagKind, formatKind, parseKind } from './flag-kinds.js';

export { FlagKind } from './flag-kinds.js';

/** One settings flag. */
export interface SettingFlag {
  /** Flag name without dashes. */
  name: string;
  setting: keyof RolloutSettings;
  kind: FlagKind;
  /** One line for the usage text. */
  help: string;
  /** The words a `choice` flag takes. */
  choices?: readonly string[];
}

const flag = (
  name: string,
  setting: keyof RolloutSettings,
  kind: FlagKind,
  help: string,
  choices?: readonly string[],
): SettingFlag => ({ name, setting, kind, help, ...(choices ? { choices } : {}) });

/** Settings flags of `rollout start`, in usage order. */
export const SETTING_FLAGS: readonly SettingFlag[] = [
  flag('mode', 'mode', 'choice', 'an activity a device, or grouped first attempts', Object.values(PushMode)),
  flag(
    'batch-size',
    'batchSize',
    'count',
    'devices per batch child workflow, at most 1000 (fast mode: 5000 by default and at most)',
  ),
  flag('max-in-flight', 'maxInFlight', 'count', 'pushes in flight at once, whole rollout'),
  flag('rate', 'rate', 'rate', 'pushes started per second, whole rollout (N or N/s; 0 = no limit)'),
  flag('max-attempts', 'maxAttempts', 'count', 'attempts per device, the first included'),
  flag('initial-interval', 'initialIntervalMs', 'duration', 'delay before the 2nd attempt'),
  flag('max-interval', 'maxIntervalMs', 'duration', 'longest delay between attempts'),
  flag('backoff', 'backoffCoefficient', 'number', 'each delay is the previous one times this'),
  flag('attempt-timeout', 'attemptTimeoutMs', 'duration', 'one attempt: connect + headers + body'),
  flag('device-timeout', 'deviceTimeoutMs', 'duration', 'one device, all attempts and delays'),
  flag('failure-threshold', 'failureThreshold', 'ratio', 'breaker trips above failed/finished'),
  flag('min-samples', 'minSamples', 'count', '...once this many devices finished'),
  flag('on-breaker', 'onBreaker', 'choice', 'a tripped breaker ends the rollout, or pauses it', [
    BreakerAction.Halt,
    BreakerAction.Pause,
  ]),
  flag(
    'waves',
    'waves',
    'waves',
    'cumulative waves, e.g. 1%,10%,50%,100% or 10,100%; 1%:0.05 = own threshold',
  ),
  flag('bake', 'bakeMs', 'duration', 'wait after each wave but the last before the next starts'),
  flag('approve-waves', 'approveWaves', 'switch', 'wait for `rollout approve` after each wave but the last'),
  flag('verify', 'verifyUrl', 'url', 'poll this URL ({id} = device id) until it reports the new digest'),
  flag('verify-timeout', 'verifyTimeoutMs', 'duration', 'a device fails VerifyTimeout after this long'),
  flag('verify-interval', 'verifyIntervalMs', 'duration', 'delay between two status polls of a device'),
];

/** The flags `rollout set` takes: the live settings, in `LIVE_SETTINGS` order. */
export const LIVE_FLAGS: readonly SettingFlag[] = LIVE_SETTINGS.flatMap((setting) =>
  SETTING_FLAGS.filter((f) => f.setting === setting),
);

/** The flag's placeholder in the usage text: `N`, `DUR`, `halt|pause`, or '' for a switch. */
export function placeholder(f: SettingFlag): string {
  const names: Record<FlagKind, string> = {
    count: 'N',
    duration: 'DUR',
    ratio: 'RATIO',
    number: 'N',
    rate: 'N',
    waves: 'LIST',
    choice: (f.choices ?? []).join('|'),
    url: 'URL-TEMPLATE',
    switch: '',
  };
  return names[f.kind];
}

/** `parseArgs` options of settings flags: a switch is a boolean, the rest take a value. */
export function flagOptions(flags: readonly SettingFlag[]): FlagOptions {
  return Object.fromEntries(
    flags.map((f) => [f.name, { type: f.kind === FlagKind.Switch ? 'boolean' : 'string' }] as const),
  );
}

/** A setting's value as a user writes it (`30s`, `500`, `0.2`, `10/s`). */
export function formatSetting(f: SettingFlag, value: SettingValue): string {
  return formatKind(f.kind, value);
}

/** Flag values as `parseArgs` returns them (strings for the settings flags). */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/**
 * Reads `flags` from `values` into `settings` (in place); one problem per flag whose text is
 * not a value of its kind. Returns the settings those problems are about.
 */
export function readFlags(
  flags: readonly SettingFlag[],
  values: FlagValues,
  settings: Partial<RolloutSettings>,
  problems: FlagProblem[],
): Set<keyof RolloutSettings> {
  const unparsable = new Set<keyof RolloutSettings>();
  for (const f of flags) {
    const raw = values[f.name];
    if (raw === undefined || raw === false) continue;
    const parsed = parseValue(f, raw === true ? '' : raw);
    if ('value' in parsed) (settings as Record<string, unknown>)[f.setting] = parsed.value;
    else {
      unparsable.add(f.setting);
      problems.push({ flag: `--${f.name}`, message: `${parsed.message} (got ${JSON.stringify(raw)})` });
    }
  }
  return unparsable;
}

/** The settings the flags ask for (defaults for the rest), and every problem, one per flag. */
export function settingsFromFlags(values: FlagValues): {
  settings: RolloutSettings;
  problems: FlagProblem[];
} {
  const settings: RolloutSettings = { ...DEFAULT_SETTINGS };
  const problems: FlagProblem[] = [];
  const reported = readFlags(SETTING_FLAGS, values, settings, problems);
  if (settings.mode === PushMode.Fast && values['batch-size'] === undefined)
    settings.batchSize = DEFAULT_FAST_BATCH_SIZE;
  for (const problem of validateSettings(settings)) {
    if (reported.has(problem.setting)) continue;
    reported.add(problem.setting);
    problems.push(toFlagProblem(problem.setting, problem.message, values));
  }
  if (!reported.has('waves')) problems.push(...waveFlagProblems(settings, values));
  return { settings, problems: problems.sort((a, b) => flagOrder(a) - flagOrder(b)) };
}

/** Position of a problem's flag among `flags` (usage order; unknown flags first). */
export function flagOrder(problem: FlagProblem, flags: readonly SettingFlag[] = SETTING_FLAGS): number {
  return flags.findIndex((f) => `--${f.name}` === problem.flag);
}

/** Flags that only mean something between waves, given without `--waves` (the whole fleet is one wave). */
function waveFlagProblems(settings: RolloutSettings, values: FlagValues): FlagProblem[] {
  if ((settings.waves ?? []).length > 0) return [];
  const why = 'without --waves the whole fleet is one wave';
  const fix = 'add --waves, e.g. --waves 10%,100%';
  const problems: FlagProblem[] = [];
  if (values['approve-waves'] === true)
    problems.push({ flag: '--approve-waves', message: `${why}, with nothing to approve — ${fix}` });
  if (typeof values['bake'] === 'string' && (settings.bakeMs ?? 0) > 0)
    problems.push({ flag: '--bake', message: `${why}, with nothing to bake before — ${fix}` });
  return problems;
}

/** The value a flag's text stands for, or what is wrong with its syntax. */
function parseValue(f: SettingFlag, raw: string): { value: SettingValue } | { message: string } {
  const parsed = parseKind(f.kind, raw, f.choices);
  if (!('value' in parsed) || !Number.isNaN(parsed.value)) return parsed;
  // The setting's own rule says what a good value is (range included): ask it about NaN.
  const rule = validateSettings({ ...DEFAULT_SETTINGS, [f.setting]: Number.NaN }).find(
    (p) => p.setting === f.setting,
  );
  return { message: stripGot(rule?.message ?? `must be a ${f.kind}`) };
}

/** A `validateSettings` problem, phrased for the flag that sets it. */
export function toFlagProblem(
  setting: keyof RolloutSettings,
  message: string,
  values: FlagValues,
): FlagProblem {
  const f = SETTING_FLAGS.find((s) => s.setting === setting);
  if (f === undefined) return { flag: `--${setting}`, message };
  const raw = values[f.name];
  let text = message;
  if (f.kind === FlagKind.Duration) {
    text = text
      .replace(/must be a whole number from (\d+) to (\d+)/, (_, a: string, b: string) => {
        return `must be a duration from ${formatKind(f.kind, Number(a))} to ${formatDuration(Number(b))}`;
      })
      .replace(/(\d+) ms\b/g, (_, n: string) => formatDuration(Number(n)));
  }
  if (typeof raw === 'string') text = `${stripGot(text)} (got ${JSON.stringify(raw)})`;
  else text = `${text} — the default is ${formatSetting(f, DEFAULT_SETTINGS[f.setting])}; set --${f.name}`;
  return { flag: `--${f.name}`, message: text };
}

/** The message without its trailing `(got …)`, which would show the parsed value, not the typed one. */
function stripGot(message: string): string {
  return message.replace(/\s*\(got [^)]*\)$/, '');
}
