/**
 * Rollout settings: every knob a user can turn, their defaults, and their validation. Pure
 * module (no Temporal import) shared by the client (flags), the workflow (input) and, later,
 * the live-change update validator, so a value is judged the same way everywhere.
 */

/** How first attempts are made (retries are always one activity per device). */
export const PushMode = {
  /** One Temporal activity per device: every push visible in the Web UI. */
  PerDevice: 'per-device',
  /** First attempts for a group of devices in one heartbeating activity; failures retried per device. */
  Fast: 'fast',
} as const;
export type PushMode = (typeof PushMode)[keyof typeof PushMode];

/** Settings of one rollout. Durations are in milliseconds. */
export interface RolloutSettings {
  /** First attempts per device or grouped (absent in rollouts started before it existed: per device). */
  mode?: PushMode;
  /** Devices per batch child workflow (bounds each child's history). */
  batchSize: number;
  /** Pushes in flight at once across the whole rollout. */
  maxInFlight: number;
  /** Attempts per device, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt. */
  initialIntervalMs: number;
  /** Each retry delay is the previous one times this. */
  backoffCoefficient: number;
  /** Retry delays never exceed this (except a device's own Retry-After). */
  maxIntervalMs: number;
  /** One attempt: connect + headers + body. */
  attemptTimeoutMs: number;
  /** One device, all attempts and delays included. */
  deviceTimeoutMs: number;
  /** The breaker trips when failed/finished exceeds this ratio... */
  failureThreshold: number;
  /** ...once at least this many devices have finished. */
  minSamples: number;
}

export const DEFAULT_SETTINGS: Readonly<RolloutSettings> = Object.freeze({
  mode: PushMode.PerDevice,
  batchSize: 500,
  maxInFlight: 100,
  maxAttempts: 5,
  initialIntervalMs: 1000, // 1 s
  backoffCoefficient: 2,
  maxIntervalMs: 60 * 1000, // 60 s
  attemptTimeoutMs: 30 * 1000, // 30 s
  deviceTimeoutMs: 30 * 60 * 1000, // 30 min
  failureThreshold: 0.2,
  minSamples: 20,
});

/**
 * Upper bounds that keep one rollout inside Temporal's limits: a batch child's history grows
 * by ~4–6 events a device (so 1,000 devices stay under the 10,240-event warning), and no
 * execution may have more than 2,000 pending activities.
 */
export const LIMITS = Object.freeze({
  maxBatchSize: 1000,
  maxInFlight: 10_000,
  maxAttempts: 100,
});

/** One validation problem, named by the setting (the client maps it to its flag). */
export interface SettingProblem {
  setting: keyof RolloutSettings;
  message: string;
}

type Rule = (s: RolloutSettings) => string | undefined;

/** The settings that are numbers (all but `mode`). */
export type NumericSetting = Exclude<keyof RolloutSettings, 'mode'>;

const integerIn =
  (key: NumericSetting, min: number, max: number): Rule =>
  (s) =>
    Number.isInteger(s[key]) && s[key] >= min && s[key] <= max
      ? undefined
      : `must be a whole number from ${min} to ${max} (got ${s[key]})`;

const RULES: ReadonlyArray<[keyof RolloutSettings, Rule]> = [
  ['batchSize', integerIn('batchSize', 1, LIMITS.maxBatchSize)],
  ['maxInFlight', integerIn('maxInFlight', 1, LIMITS.maxInFlight)],
  ['maxAttempts', integerIn('maxAttempts', 1, LIMITS.maxAttempts)],
  ['initialIntervalMs', integerIn('initialIntervalMs', 1, 24 * 3600 * 1000)],
  ['maxIntervalMs', integerIn('maxIntervalMs', 1, 24 * 3600 * 1000)],
  ['attemptTimeoutMs', integerIn('attemptTimeoutMs', 1, 24 * 3600 * 1000)],
  ['deviceTimeoutMs', integerIn('deviceTimeoutMs', 1, 7 * 24 * 3600 * 1000)],
  ['minSamples', integerIn('minSamples', 1, 1_000_000_000)],
  [
    'mode',
    (s) =>
      s.mode === undefined || Object.values(PushMode).includes(s.mode)
        ? undefined
        : `must be ${Object.values(PushMode).join(' or ')} (got ${String(s.mode)})`,
  ],
  [
    'backoffCoefficient',
    (s) =>
      Number.isFinite(s.backoffCoefficient) && s.backoffCoefficient >= 1 && s.backoffCoefficient <= 100
        ? undefined
        : `must be a number from 1 to 100 (got ${s.backoffCoefficient})`,
  ],
  [
    'failureThreshold',
    (s) =>
      Number.isFinite(s.failureThreshold) && s.failureThreshold >= 0 && s.failureThreshold <= 1
        ? undefined
        : `must be a ratio from 0 to 1, e.g. 0.2 (got ${s.failureThreshold})`,
  ],
  [
    'maxIntervalMs',
    (s) =>
      s.maxIntervalMs >= s.initialIntervalMs
        ? undefined
        : `must not be below the initial interval (${s.maxIntervalMs} ms < ${s.initialIntervalMs} ms)`,
  ],
  [
    'deviceTimeoutMs',
    (s) =>
      s.deviceTimeoutMs >= s.attemptTimeoutMs
        ? undefined
        : `must not be below the attempt timeout (${s.deviceTimeoutMs} ms < ${s.attemptTimeoutMs} ms)`,
  ],
];

/** Every problem with `settings`; empty when they are valid. */
export function validateSettings(settings: RolloutSettings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const [setting, rule] of RULES) {
    const message = rule(settings);
    if (message !== undefined) problems.push({ setting, message });
  }
  return problems;
}

/** Defaults overlaid with what the user set. */
export function withDefaults(partial: Partial<RolloutSettings> = {}): RolloutSettings {
  return { ...DEFAULT_SETTINGS, ...partial };
}
