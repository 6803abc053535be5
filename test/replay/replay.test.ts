/**
 * Replays the committed histories of real rollouts against today's workflow code. A change
 * that would break rollouts already running (a reordered command, a new timer or activity
 * without `patched`) fails here with a DeterminismViolationError. Re-record with
 * `npm run record-histories` only for an intended, safely deployed break.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
/** The workflow id the history was recorded under (ids appear in child-workflow commands). */
/** Histories of rollouts that never started a batch. */
const NO_BATCH = new Set(['artifact-changed']);
const workflowIdOf = (file: string): string => {
  const [, kind, name] = /^(rollout|batch)-(.+)\.json$/.exec(file) ?? [];
  return kind === 'batch' ? `replay-${name}/batch-0` : `replay-${name}`;
};
const load = (file: string): ReturnType<typeof historyFromJSON> =>
  historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')));

describe('replay of recorded rollouts', () => {
  it('has completed, fast-mode (small and large batches), halted, cancelled, continued-as-new, wave-gated, paused and live-changed rollouts (and one batch of each) to replay', () => {
    for (const kind of [
      'completed',
      'fast',
      'fast-large',
      'halted',
      'cancelled',
      'continued',
      'waves-gate',
      'paused',
      'live-change',
      'artifact-changed',
    ]) {
      expect(files).toContain(`rollout-${kind}.json`);
      if (!NO_BATCH.has(kind)) expect(files).toContain(`batch-${kind}.json`);
    }
  });

  const patchIds = (file: string): string[] =>
    (load(file).events ?? []).flatMap((e) => {
      const details = e.markerRecordedEventAttributes?.details ?? {};
      return Object.values(details).flatMap((p) =>
        (p.payloads ?? []).map((payload) => Buffer.from(payload.data ?? []).toString('utf8')),
      );
    });

  it('covers the fast-groups-v2 patch from both sides: a fast batch from before it and a chunk-loaded one after it', () => {
    expect(patchIds('batch-fast.json').join()).not.toContain('fast-groups-v2');
    expect(patchIds('batch-fast-large.json').join()).toContain('fast-groups-v2');
    const loads = (load('batch-fast-large.json').events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadDevices',
    );
    expect(loads).toHaveLength(2);
  });

  it('covers the check-artifact-at-start patch from both sides: histories from before it and after it', () => {
    // Recorded before the patch: no marker, no check — replays because `patched()` is false.
    expect(patchIds('rollout-completed.json').join()).not.toContain('check-artifact-at-start');
    // Recorded after it: the marker, then the check that failed the start.
    expect(patchIds('rollout-artifact-changed.json').join()).toContain('check-artifact-at-start');
  });

  it('holds a run that ended in continue-as-new', () => {
    const events = load('rollout-continued.json').events ?? [];
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  });

  it.each(files)('replays %s on the current workflow code', async (file) => {
    const bundle = { codePath: inject('workflowBundlePath') };
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle }, load(file), workflowIdOf(file)),
    ).resolves.toBeUndefined();
  });

  it('raises DeterminismViolationError when the workflow code changed incompatibly', async () => {
    const bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-workflows.ts', import.meta.url)),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { code: bundle.code } },
        load('rollout-completed.json'),
        workflowIdOf('rollout-completed.json'),
      ),
    ).rejects.toThrow(DeterminismViolationError);
  });
});
