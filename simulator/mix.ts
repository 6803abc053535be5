import type { DeviceBehavior } from './behavior.js';
import { SimulatorError, SimulatorErrorCode } from './errors.js';
import { Draw, hash32 } from './random.js';

/** Device classes a mix spec can name. */
export const MixClass = {
  /** Applies at once. */
  ok: 'ok',
  /** Answers after 200–800 ms. */
  slow: 'slow',
  /** 503 on its first 2 attempts, then ok. */
  flaky: 'flaky',
  /** 429 with `retry-after: 1` on its first attempt, then ok. */
  ratelimited: 'ratelimited',
  /** Always 404 (half of them) or always 500 (the other half). */
  broken: 'broken',
  /** Reads the body and never answers. */
  hang: 'hang',
  /** Resets the connection after the body. */
  reset: 'reset',
  /** Answers bytes that are not HTTP. */
  malformed: 'malformed',
  /** Drops the connection halfway through the body. */
  midbody: 'midbody',
  /** Each attempt fails with 500 at 30 % probability. */
  random30: 'random30',
  /** Applies the first delivery but loses its answer (connection reset); later ones are duplicates. */
  lostanswer: 'lostanswer',
  /** Applies at once; its status endpoint shows the new version 2 s later (verified completion). */
  slowconfirm: 'slowconfirm',
  /** Applies at once but its status endpoint never shows the new version (fails verification). */
  unconfirmed: 'unconfirmed',
} as const;
export type MixClass = (typeof MixClass)[keyof typeof MixClass];

const behaviors: Record<Exclude<MixClass, 'broken'>, DeviceBehavior> = {
  ok: {},
  slow: { latencyMs: [200, 800] },
  flaky: { failure: { mode: 'status', status: 503, firstAttempts: 2 } },
  ratelimited: { failure: { mode: 'retryAfter', status: 429, retryAfterS: 1, firstAttempts: 1 } },
  hang: { failure: { mode: 'hang' } },
  reset: { failure: { mode: 'reset' } },
  malformed: { failure: { mode: 'malformed' } },
  midbody: { failure: { mode: 'closeMidBody' } },
  random30: { failure: { mode: 'status', status: 500, probability: 0.3 } },
  lostanswer: { failure: { mode: 'applyThenReset', firstAttempts: 1 } },
  slowconfirm: { confirm: { delayMs: 2000 } },
  unconfirmed: { confirm: { never: true } },
};
const broken404: DeviceBehavior = { failure: { mode: 'status', status: 404 } };
const broken500: DeviceBehavior = { failure: { mode: 'status', status: 500 } };

const example = 'ok=90,slow=3,flaky=3,ratelimited=2,broken=2';
const maxTotalWeight = 1_000_000;

interface MixPart {
  cls: MixClass;
  /** First slot of this class in a block of `total` devices. */
  start: number;
  weight: number;
}

function badMix(spec: string, problem: string): never {
  const valid = Object.keys(MixClass).join(', ');
  throw new SimulatorError(
    SimulatorErrorCode.badMix,
    `mix "${spec}": ${problem}; write CLASS=WEIGHT pairs separated by commas (e.g. "${example}"), ` +
      `classes: ${valid}`,
  );
}

function parsePart(spec: string, part: string): { cls: MixClass; weight: number } {
  const match = /^\s*([a-z0-9]+)\s*=\s*(\d+)\s*$/i.exec(part);
  if (match === null) return badMix(spec, `part "${part}" is not CLASS=WEIGHT with an integer weight`);
  const name = (match[1] ?? '').toLowerCase();
  if (!Object.hasOwn(MixClass, name)) return badMix(spec, `part "${part}" names an unknown class "${name}"`);
  return { cls: name as MixClass, weight: Number(match[2]) };
}

/** Parses a mix spec into classes with their slot ranges. */
function parseMix(spec: string): { parts: MixPart[]; total: number } {
  const parts: MixPart[] = [];
  let total = 0;
  for (const text of spec.split(',')) {
    const { cls, weight } = parsePart(spec, text);
    if (parts.some((part) => part.cls === cls)) badMix(spec, `class "${cls}" appears twice`);
    parts.push({ cls, start: total, weight });
    total += weight;
  }
  if (total === 0) badMix(spec, 'the weights add up to 0');
  if (total > maxTotalWeight) badMix(spec, `the weights add up to more than ${maxTotalWeight}`);
  return { parts: parts.filter((part) => part.weight > 0), total };
}

/** A seeded Fisher–Yates shuffle of 0..size-1 for one block. */
function permutation(size: number, seed: number, block: number): Uint32Array<ArrayBuffer> {
  const slots = new Uint32Array(size);
  for (let i = 0; i < size; i += 1) slots[i] = i;
  for (let i = size - 1; i > 0; i -= 1) {
    const j = hash32(seed, block, i, Draw.mix) % (i + 1);
    const swap = slots[i] ?? 0;
    slots[i] = slots[j] ?? 0;
    slots[j] = swap;
  }
  return slots;
}

function behaviorOf(part: MixPart, rank: number): DeviceBehavior {
  if (part.cls === 'broken') return rank % 2 === 0 ? broken404 : broken500;
  return behaviors[part.cls];
}

/**
 * A behaviour function for `SimulatorOptions.behavior` from a spec such as
 * `ok=90,slow=3,flaky=3,ratelimited=2,broken=2` (weights are relative integers).
 *
 * Why blocks: each run of `total` consecutive indices (total = sum of weights) holds exactly
 * `weight` devices of each class, shuffled by `seed`, so a fleet of any size gets the stated
 * proportions, not merely their expectation, and the same seed gives the same fleet.
 * @throws SimulatorError (`ERR_SIM_BAD_MIX`) naming the bad part and the valid classes.
 */
export function mixBehaviors(spec: string, seed = 0): (id: string, index: number) => DeviceBehavior {
  const { parts, total } = parseMix(spec);
  let cachedBlock = -1;
  let slots = new Uint32Array(0);
  return (_id, index) => {
    const block = Math.floor(index / total);
    if (block !== cachedBlock) {
      slots = permutation(total, seed, block);
      cachedBlock = block;
    }
    const slot = slots[index % total] ?? 0;
    const part = parts.find((candidate) => slot < candidate.start + candidate.weight) ?? parts[0];
    if (part === undefined) return behaviors.ok;
    return behaviorOf(part, slot - part.start + block);
  };
}
