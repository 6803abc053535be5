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

/** What a tripped breaker does. */
export const BreakerAction = {
  /** End the rollout `halted`. */
  Halt: 'halt',
  /** Pause for a human, who resumes (acknowledging the failures counted so far) or cancels. */
  Pause: 'pause',
} as const;
export type BreakerAction = (typeof BreakerAction)[keyof typeof BreakerAction];

/**
 * One wave: where it ends, as a cumulative share of the fleet (`percent`) or a cumulative device
 * count (`count`), with its own failure threshold if it has one. The first wave is the canary.
 */
export interface WaveSpec {
  size: number;
  unit: 'percent' | 'count';
  /** Failure threshold of this wave alone (the rollout-wide one still applies). */
  failureThreshold?: number;
}

/**
 * Settings of one rollout. Durations are in milliseconds. Fields added after the first release
 * are optional: rollouts started before them (and their recorded histories) lack them, and
 * `undefined` means the default.
 */
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
  /** What a tripped breaker does (default halt). */
  onBreaker?: BreakerAction;
  /** Device pushes started per second across the rollout; 0 = no limit. */
  rate?: number;
  /** Waves, in order; absent or empty = one wave, the whole fleet. */
  waves?: WaveSpec[];
  /** Time a finished wave bakes before the next one starts (0 = none). */
  bakeMs?: number;
  /** Wait for `rollout approve` after each wave but the last. */
  approveWaves?: boolean;
  /**
   * Verify each pushed device: poll this URL (`{id}` is replaced by the device id, URL-encoded)
   * until it reports the artifact's digest. A device's own `statusUrl` takes precedence.
   */
  verifyUrl?: string;
  /** How long a device may take to confirm the new version (then it fails `VerifyTimeout`). */
  verifyTimeoutMs?: number;
  /** Delay between two status polls of one device. */
  verifyIntervalMs?: number;
  /**
   * The rollout workflow continues-as-new once its run has this many history events (or when
   * Temporal suggests it). Not a CLI flag: the default suits every fleet size; tests and the
   * replay recordings lower it to exercise continue-as-new with a small fleet.
   */
  maxEventsPerRun?: number;
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
  onBreaker: BreakerAction.Halt,
  rate: 0,
  waves: [],
  bakeMs: 0,
  approveWaves: false,
  verifyTimeoutMs: 5 * 60 * 1000, // 5 min
  verifyIntervalMs: 1000, // 1 s
});

/** The settings `rollout set` may change while a rollout runs. */
export type LiveSetting = 'rate' | 'maxInFlight' | 'failureThreshold';
export const LIVE_SETTINGS: readonly LiveSetting[] = ['rate', 'maxInFlight', 'failureThreshold'];
export type SettingsChange = Partial<Pick<RolloutSettings, LiveSetting>>;

/**
 * Upper bounds that keep one rollout inside Temporal's limits: a batch child's history grows
 * by ~4–6 events a device (so 1,000 devices stay under the 10,240-event warning), and no
 * execution may have more than 2,000 pending activities.
 */
export const LIMITS = Object.freeze({
  maxBatchSize: 1000,
  /**
   * Fast mode records ~0.2 events a device (a group activity per up to thousands of devices),
   * so its batches may be larger: fewer hand-overs between batches, which is where fast mode
   * loses time. A batch loads its devices in chunks of `maxBatchSize`, so no payload grows.
   */
  maxFastBatchSize: 5000,
  maxInFlight: 10_000,
  maxAttempts: 100,
  maxRate: 100_000,
  maxWaves: 20,
});

/** One validation problem, named by the setting (the client maps it to its flag). */
export interface SettingProblem {
  setting: keyof RolloutSettings;
  message: string;
}

type Rule = (s: RolloutSettings) => string | undefined;

/** The settings that are numbers. */
export type NumericSetting = {
  [K in keyof RolloutSettings]-?: NonNullable<RolloutSettings[K]> extends number ? K : never;
}[keyof RolloutSettings];

const integerIn =
  (key: NumericSetting, min: number, max: number): Rule =>
  (s) => {
    const value = s[key];
    if (value === undefined) return undefined;
    return Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max} (got ${value})`;
  };

const isRatio = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= 1;

const RULES: ReadonlyArray<[keyof RolloutSettings, Rule]> = [
  [
    'batchSize',
    (s) =>
      integerIn('batchSize', 1, s.mode === PushMode.Fast ? LIMITS.maxFastBatchSize : LIMITS.maxBatchSize)(s),
  ],
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
      isRatio(s.failureThreshold)
        ? undefined
        : `must be a ratio from 0 to 1, e.g. 0.2 (got ${s.failureThreshold})`,
  ],
  ['bakeMs', integerIn('bakeMs', 0, 30 * 24 * 3600 * 1000)],
  ['verifyTimeoutMs', integerIn('verifyTimeoutMs', 1, 24 * 3600 * 1000)],
  ['verifyIntervalMs', integerIn('verifyIntervalMs', 1, 3600 * 1000)],
  ['maxEventsPerRun', integerIn('maxEventsPerRun', 100, 40_000)],
  [
    'rate',
    (s) =>
      s.rate === undefined || (Number.isFinite(s.rate) && s.rate >= 0 && s.rate <= LIMITS.maxRate)
        ? undefined
        : `must be a number of devices per second from 0 (no limit) to ${LIMITS.maxRate} (got ${s.rate})`,
  ],
  [
    'onBreaker',
    (s) =>
      s.onBreaker === undefined || Object.values(BreakerAction).includes(s.onBreaker)
        ? undefined
        : `must be ${Object.values(BreakerAction).join(' or ')} (got ${String(s.onBreaker)})`,
  ],
  ['waves', (s) => wavesProblem(s.waves ?? [])],
  [
    'verifyUrl',
    (s) => {
      if (s.verifyUrl === undefined) return undefined;
      try {
        const url = new URL(s.verifyUrl.replaceAll('{id}', 'x'));
        if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
      } catch {
        // reported below
      }
      return `must be an http(s) URL template such as http://host/devices/{id}/status (got ${s.verifyUrl})`;
    },
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

function wavesProblem(waves: readonly WaveSpec[]): string | undefined {
  if (waves.length > LIMITS.maxWaves)
    return `may list at most ${LIMITS.maxWaves} waves (got ${waves.length})`;
  let previous: WaveSpec | undefined;
  for (const [i, wave] of waves.entries()) {
    const n = i + 1;
    if (wave.unit === 'percent' && !(Number.isFinite(wave.size) && wave.size > 0 && wave.size <= 100))
      return `wave ${n}: a share must be above 0 % and at most 100 % (got ${wave.size} %)`;
    if (wave.unit === 'count' && !(Number.isInteger(wave.size) && wave.size >= 1))
      return `wave ${n}: a device count must be a whole number from 1 (got ${wave.size})`;
    if (wave.failureThreshold !== undefined && !isRatio(wave.failureThreshold))
      return `wave ${n}: its failure threshold must be a ratio from 0 to 1 (got ${wave.failureThreshold})`;
    if (previous && previous.unit === wave.unit && wave.size <= previous.size)
      return `wave ${n}: sizes are cumulative and must grow (${describeWave(previous)} then ${describeWave(wave)})`;
    previous = wave;
  }
  return undefined;
}

/** `10%` or `500`, as the flag writes it. */
export function describeWave(wave: WaveSpec): string {
  const size = wave.unit === 'percent' ? `${wave.size}%` : String(wave.size);
  return wave.failureThreshold === undefined ? size : `${size}:${wave.failureThreshold}`;
}

/**
 * Parses `1%,10%,50%,100%` (cumulative shares), absolute counts (`10,100,100%`), each with an
 * optional own failure threshold after a colon (`1%:0.05`). Throws a message naming the wave.
 */
export function parseWaves(text: string): WaveSpec[] {
  const parts = text.split(',').map((p) => p.trim());
  return parts.map((part, i) => {
    const match = /^(\d+(?:\.\d+)?)(%?)(?::(\d*(?:\.\d+)?%?))?$/.exec(part);
    if (!match) {
      throw new Error(
        `wave ${i + 1} "${part}" is not a share (10%) or a device count (500), optionally with its own failure threshold (10%:0.05)`,
      );
    }
    const [, size = '', percent, threshold] = match;
    const wave: WaveSpec = { size: Number(size), unit: percent === '%' ? 'percent' : 'count' };
    if (threshold !== undefined && threshold !== '') {
      wave.failureThreshold = threshold.endsWith('%')
        ? Number(threshold.slice(0, -1)) / 100
        : Number(threshold);
    }
    return wave;
  });
}

/** Checks a live change against the rollout's settings; the problems, or the settings after it. */
export function applyChange(
  settings: RolloutSettings,
  change: SettingsChange,
): { settings: RolloutSettings; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  for (const key of Object.keys(change)) {
    if (!(LIVE_SETTINGS as readonly string[]).includes(key)) {
      problems.push({
        setting: key as keyof RolloutSettings,
        message: `cannot be changed while the rollout runs (only ${LIVE_SETTINGS.join(', ')})`,
      });
    }
  }
  const defined = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
  if (Object.keys(defined).length === 0 && problems.length === 0) {
    problems.push({
      setting: 'rate',
      message: 'no change given (set rate, maxInFlight or failureThreshold)',
    });
  }
  const next = { ...settings, ...defined };
  problems.push(...validateSettings(next).filter((p) => p.setting in change));
  return { settings: next, problems };
}

/** Every problem with `settings`; empty when they are valid. */
export function validateSettings(settings: RolloutSettings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const [setting, rule] of RULES) {
    const message = rule(settings);
    if (message !== undefined) problems.push({ setting, message });
  }
  return problems;
}

/** Fast mode's default batch size (see `LIMITS.maxFastBatchSize`). */
export const DEFAULT_FAST_BATCH_SIZE = 5000;

/** Defaults (for the mode asked for) overlaid with what the user set. */
export function withDefaults(partial: Partial<RolloutSettings> = {}): RolloutSettings {
  const batchSize = partial.mode === PushMode.Fast ? DEFAULT_FAST_BATCH_SIZE : DEFAULT_SETTINGS.batchSize;
  return { ...DEFAULT_SETTINGS, batchSize, ...partial };
}
