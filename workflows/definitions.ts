/**
 * The rollout's public surface: workflow inputs and results, signals, queries, and the
 * search attributes. The client imports only this module (and `settings.ts`).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { ArtifactRef, FleetSource, FrozenFleet } from '../shared/types.js';
import type { RolloutCarry } from './rollout-state.js';
import type { Plan } from './plan.js';
import type { LiveSetting, RolloutSettings, SettingsChange } from './settings.js';

export type { Plan } from './plan.js';
export type { ArtifactRef, DeviceTarget, FleetSource, FrozenFleet } from '../shared/types.js';
export type { RolloutSettings, SettingsChange } from './settings.js';
export type { RolloutCarry } from './rollout-state.js';

/** Task queue both workflows and activities use unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'rollouts';

/** Status of a rollout: the first three while it runs, the last three once it has ended. */
export const RolloutStatus = {
  Running: 'running',
  /** No new push starts (paused by an operator, or by the breaker with `--on-breaker pause`). */
  Paused: 'paused',
  /** Between waves: baking, or waiting for `rollout approve`. */
  Waiting: 'waiting',
  Completed: 'completed',
  Halted: 'halted',
  Cancelled: 'cancelled',
} as const;
export type RolloutStatus = (typeof RolloutStatus)[keyof typeof RolloutStatus];

/** Final outcome of one device. */
export const DeviceOutcomeKind = {
  Succeeded: 'succeeded',
  Failed: 'failed',
  /** A push was in flight when the rollout was halted or cancelled; it was aborted. */
  Aborted: 'aborted',
  NotAttempted: 'notAttempted',
} as const;
export type DeviceOutcomeKind = (typeof DeviceOutcomeKind)[keyof typeof DeviceOutcomeKind];

/** Input of `rolloutWorkflow`. */
export interface RolloutInput {
  fleet: FleetSource;
  /** The artifact as the client saw it; the digest is verified again on every push. */
  artifact: ArtifactRef;
  settings: RolloutSettings;
  /** State carried over continue-as-new; absent on a rollout's first run. */
  carry?: RolloutCarry;
}

/** A failed device, as shown in reports (a bounded sample). */
export interface FailureSample {
  deviceId: string;
  /** A `FailureType`, or `Error` for something unexpected. */
  errorType: string;
  message: string;
  /** Attempts made, when known. */
  attempts: number | null;
}

/** Device counts of a rollout (or of one batch). */
export interface DeviceCounts {
  succeeded: number;
  failed: number;
  aborted: number;
}

/** One wave as progress shows it. */
export interface WaveProgress extends DeviceCounts {
  /** 1-based, as the CLI and the Web UI number waves. */
  wave: number;
  /** Devices in this wave. */
  devices: number;
  /** The wave's own failure threshold, if it has one. */
  failureThreshold: number | null;
  state: 'pending' | 'running' | 'done';
}

/** What a rollout that is not pushing waits for, and the command that ends the wait. */
export interface WaitState {
  kind: 'approval' | 'bake' | 'resume';
  /** 1-based wave the wait follows (approval, bake) or interrupts (resume). */
  wave: number;
  /** End of a bake (ISO time). */
  until?: string;
  /** Human sentence, e.g. "approval of wave 2 (`rollout approve ID`)". */
  message: string;
}

/** Live progress, answered by `progressQuery`. */
export interface RolloutProgress extends DeviceCounts {
  rolloutId: string;
  status: RolloutStatus;
  total: number;
  inFlight: number;
  notAttempted: number;
  failureRatio: number;
  breaker: { tripped: boolean; reason: string | null };
  batches: { total: number; started: number; done: number; running: number };
  /** Failures by type, all batches. */
  failuresByType: Record<string, number>;
  startedAt: string;
  /** Continue-as-new generation of the rollout workflow (0 = first run). */
  run: number;
  /** Devices per batch: batch n holds frozen-fleet devices [n * batchSize, (n + 1) * batchSize). */
  batchSize: number;
  /** The frozen fleet (so `rollout results` can name devices of batches never started). */
  fleet: FrozenFleet;
  /**
   * Waves and batches (plan.ts `batchRange` maps a batch to its devices). Absent in progress of
   * rollouts started before waves existed: then batch n holds [n * batchSize, (n + 1) * batchSize).
   */
  plan?: Plan;
  /** The waves (one when none were asked for) and the 1-based wave now running or next. */
  waves?: { current: number; list: WaveProgress[] };
  /** Why no push starts, when the rollout waits for time or a human; null while it pushes. */
  waitingFor?: WaitState | null;
  /** The settings `rollout set` can change, as they are now. */
  live?: Pick<RolloutSettings, LiveSetting>;
  /** Estimated seconds to the end at the recent pace (null before there is a pace, or while waiting). */
  etaSeconds?: number | null;
}

/** The final report: the workflow's result, the `RolloutHalted` failure's details, and memo `report`. */
export interface RolloutReport extends RolloutProgress {
  endedAt: string;
  durationMs: number;
  /** Up to `MAX_FAILURE_SAMPLES` failed devices. */
  failures: FailureSample[];
  artifact: ArtifactRef;
  settings: RolloutSettings;
}

export { MAX_FAILURE_SAMPLES } from './batch-outcomes.js';

/** One device's final outcome, as printed by `rollout results`. */
export interface DeviceOutcome {
  deviceId: string;
  outcome: DeviceOutcomeKind;
  attempts: number | null;
  status?: number;
  errorType?: string;
  message?: string;
}

/** Input of `batchWorkflow`: one contiguous slice of the frozen, priority-sorted fleet. */
export interface BatchInput {
  /** Workflow id of the rollout; reports go to it by id so they reach its latest run. */
  rolloutId: string;
  batch: number;
  fleet: FrozenFleet;
  /** Index of the first device of the slice in the frozen fleet. */
  start: number;
  count: number;
  artifact: ArtifactRef;
  settings: RolloutSettings;
  grant: BatchGrant;
}

/** What a batch may do, set by the rollout (absolute values, so a repeated signal is harmless). */
export interface BatchGrant {
  /** Pushes it may have in flight. */
  slots: number;
  /**
   * Failure permits, cumulative: a push may start only while `failed + inFlight < permits`, so
   * the failures the rollout has not heard of yet can never trip the breaker (see breaker.ts).
   */
  permits: number;
  /** Devices/s it may start (its share of the rollout's rate); absent = no limit. */
  rate?: number;
  /** No start before this time (epoch ms): when the rate passes from one batch to the next. */
  rateAfter?: number;
}

/** Signal from the rollout to a batch. */
export interface BatchControl {
  grant?: BatchGrant;
  /** Stop: no new push, abort those in flight, report, return. */
  stop?: 'halted' | 'cancelled';
}

/** Signal from a batch to its rollout: cumulative counts, so the latest report is the truth. */
export interface BatchReport extends DeviceCounts {
  batch: number;
  inFlight: number;
  /** Devices not started yet. */
  remaining: number;
  failuresByType: Record<string, number>;
  done: boolean;
  /** Failed devices of this batch, bounded; sent with the final report. */
  samples?: FailureSample[];
  /** A failure that means the rollout itself is broken (e.g. the artifact changed). */
  fatal?: { errorType: string; message: string };
  /** The batch could not run at all (e.g. its slice of the fleet could not be loaded). */
  error?: string;
  /** Under a rate limit: the time (epoch ms) of its next start slot; no push of it starts before. */
  rateClock?: number;
}

export type { BatchResult } from './batch-result.js';

/** Memo key under which a finished rollout keeps its report (readable after any ending). */
export const REPORT_MEMO_KEY = 'report';

export const batchReportSignal = defineSignal<[BatchReport]>('batchReport');
export const batchControlSignal = defineSignal<[BatchControl]>('batchControl');
export const progressQuery = defineQuery<RolloutProgress>('progress');

/** Why an operator paused (shown in the UI and the CLI). */
export interface PauseRequest {
  reason?: string;
}

/** Stop starting new pushes; those in flight finish. Resumed by `resumeSignal`. */
export const pauseSignal = defineSignal<[PauseRequest?]>('pause');
/** Continue a paused rollout; a breaker pause also acknowledges the failures counted so far. */
export const resumeSignal = defineSignal('resume');
/** Let the next wave start (a wave waiting for approval), or skip the rest of a bake and its approval. */
export const approveSignal = defineSignal('approve');
/** Skip the bake of the wave that just finished (an approval gate still waits). */
export const promoteSignal = defineSignal('promote');

/** Answer of `setUpdate`: the live settings after the change. */
export type SettingsChangeResult = Pick<RolloutSettings, LiveSetting>;
/**
 * Change rate, max in flight or failure threshold of a running rollout. Its validator rejects an
 * invalid value (nothing changes, and no history event is written); the change takes effect at
 * once for new pushes.
 */
export const setUpdate = defineUpdate<SettingsChangeResult, [SettingsChange]>('set');

/** Search attributes the rollout keeps current (registered by `npm run server`). */
export const SearchAttribute = {
  id: defineSearchAttributeKey('RolloutId', 'KEYWORD'),
  status: defineSearchAttributeKey('RolloutStatus', 'KEYWORD'),
  progress: defineSearchAttributeKey('RolloutProgress', 'INT'),
  failed: defineSearchAttributeKey('RolloutFailed', 'INT'),
} as const;

/** Name → type, for registering the search attributes on a server. */
export const SEARCH_ATTRIBUTE_TYPES: Readonly<Record<string, 'Keyword' | 'Int'>> = {
  RolloutId: 'Keyword',
  RolloutStatus: 'Keyword',
  RolloutProgress: 'Int',
  RolloutFailed: 'Int',
};

/** Workflow id of batch `n` of a rollout. */
export function batchWorkflowId(rolloutId: string, batch: number): string {
  return `${rolloutId}/batch-${batch}`;
}
