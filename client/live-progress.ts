/**
 * Live progress of a running rollout on stderr: `progressQuery` once a second; on a terminal a
 * single updating line (bar, percent, counts, failure ratio, devices/s, wave, ETA, pause or
 * wait), otherwise a plain line every 5 s, and at once when the rollout pauses, waits or starts
 * a wave, so logs stay readable. Stdout is left alone, for the report and `--json`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { RolloutProgress } from '../workflows/definitions.js';
import { progressQuery } from '../workflows/definitions.js';
import type { Temporal } from './config.js';
import { devicesDone, plainProgressLine, progressLine } from './render.js';

const POLL_INTERVAL_MS = 1000; // 1 s
const PLAIN_INTERVAL_MS = 5000; // 5 s between lines when stderr is not a terminal
const QUERY_DEADLINE_MS = 5000; // 5 s: a query waits for a worker; do not hang the display on it
const RATE_WINDOW_MS = 10_000; // devices/s over the last 10 s
/** After this long without an answer, say a worker may be missing. */
const NO_ANSWER_HINT_MS = 10_000; // 10 s

/** Where progress is written: stderr, or a test double. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Devices/s over a sliding window of (time, devices done) samples. */
export class RateMeter {
  readonly #samples: Array<[number, number]> = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  add(atMs: number, done: number): void {
    this.#samples.push([atMs, done]);
    while (this.#samples.length > 2 && atMs - (this.#samples[1]?.[0] ?? atMs) >= this.windowMs) {
      this.#samples.shift();
    }
  }

  /** Devices/s, or null with fewer than two samples. */
  perSecond(): number | null {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last[0] <= first[0]) return null;
    return Math.max(0, ((last[1] - first[1]) * 1000) / (last[0] - first[0]));
  }
}

/**
 * Shows progress until `signal` aborts, then clears the terminal line. Never throws: a failed
 * query shows as "waiting" (the fleet is still being frozen, or no worker is polling).
 */
export async function showProgress(
  temporal: Temporal,
  handle: WorkflowHandle,
  sink: ProgressSink,
  signal: AbortSignal,
): Promise<void> {
  const rate = new RateMeter();
  // A pseudo-terminal without a size reports 0 columns.
  const columns = sink.columns !== undefined && sink.columns >= 20 ? sink.columns : 100;
  const started = Date.now();
  let lastAnswer = started;
  let lastPlain = 0;
  let lastLine = '';
  let lastState = '';
  while (!signal.aborted) {
    const now = Date.now();
    const progress = await queryProgress(temporal, handle, QUERY_DEADLINE_MS, signal);
    if (signal.aborted) break;
    let line: string;
    // A pause, a wait or a new wave shows at once in logs too, not at the next 5 s line.
    const state = progress ? stateKey(progress) : lastState;
    if (progress) {
      lastAnswer = now;
      rate.add(now, devicesDone(progress));
      line = sink.isTTY
        ? progressLine(progress, rate.perSecond(), columns)
        : plainProgressLine(progress, rate.perSecond());
    } else {
      line = waitingLine(
        handle.workflowId,
        now - lastAnswer >= NO_ANSWER_HINT_MS,
        temporal.config.temporal.taskQueue,
      );
    }
    if (sink.isTTY) {
      sink.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
    } else if (
      now - lastPlain >= PLAIN_INTERVAL_MS ||
      state !== lastState ||
      (line !== lastLine && !progress)
    ) {
      sink.write(`${line}\n`);
      lastPlain = now;
    }
    lastLine = line;
    lastState = state;
    await sleep(POLL_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
  if (sink.isTTY) sink.write('\r\x1b[2K');
}

/**
 * `progressQuery`, or undefined when it fails: no worker answered within `deadlineMs`, the
 * handler is not registered yet (the fleet is being frozen), or `signal` aborted first.
 */
export async function queryProgress(
  temporal: Temporal,
  handle: WorkflowHandle,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<RolloutProgress | undefined> {
  const query = temporal.connection
    .withDeadline(Date.now() + deadlineMs, () => handle.query(progressQuery))
    .catch(() => undefined);
  if (signal === undefined) return await query;
  let onAbort = (): void => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([query, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** What the rollout is doing, apart from counts: status, wave, and what it waits for. */
function stateKey(p: RolloutProgress): string {
  return `${p.status} ${p.waves?.current ?? ''} ${p.waitingFor?.message ?? ''}`;
}

function waitingLine(id: string, long: boolean, taskQueue: string): string {
  return long
    ? `${id}: no progress yet — is a worker polling task queue "${taskQueue}"? (\`npm run worker\`)`
    : `${id}: waiting for progress (freezing the fleet)…`;
}
