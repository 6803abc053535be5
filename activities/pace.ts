/**
 * Rate-limit slots on the worker. The workflow hands out start slots a little ahead (see
 * workflows/batch.ts); an activity waits here for its slot so that devices are reached at the
 * paced times, whatever the latency of dispatching the activity.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves at `at` (epoch ms), at once if it has passed or is absent; rejects when `signal` aborts. */
export async function waitForSlot(at: number | undefined, signal: AbortSignal): Promise<void> {
  if (at === undefined) return;
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait, undefined, { signal });
}
