/**
 * Seeded, stateless randomness. Each draw is a pure function of (seed, device index, attempt,
 * purpose), so a device's fate does not depend on the order in which concurrent requests
 * arrive: the same seed replays the same run however the engine schedules it.
 */

/** Purposes of a draw, so that latency and failure draws of one attempt are independent. */
export const Draw = {
  latency: 1,
  failure: 2,
  mix: 3,
} as const;
export type Draw = (typeof Draw)[keyof typeof Draw];

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection on uint32. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uint32 hash of the seed and up to three integers. */
export function hash32(seed: number, a: number, b = 0, c = 0): number {
  let h = fmix32(seed ^ 0x9e3779b9);
  h = fmix32(h ^ a);
  h = fmix32(h ^ Math.imul(b, 0x27d4eb2d));
  return fmix32(h ^ Math.imul(c, 0x165667b1));
}

/** A uniform number in [0, 1) derived from the seed and up to three integers. */
export function random01(seed: number, a: number, b = 0, c = 0): number {
  return hash32(seed, a, b, c) / 0x1_0000_0000;
}
