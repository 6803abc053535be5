import { describe, expect, it } from 'vitest';
import type { ControlAction } from '../../client/control.js';
import { confirmation, describeState, refusal, tookEffect } from '../../client/control.js';
import type { RolloutProgress, WaitState, WaveProgress } from '../../workflows/definitions.js';

const wave = (n: number, state: WaveProgress['state'], devices: number): WaveProgress => ({
  wave: n,
  devices,
  state,
  succeeded: state === 'done' ? devices : 0,
  failed: 0,
  aborted: 0,
  failureThreshold: null,
});

/** A 4-wave rollout of 1,000 devices in wave `current`. */
function progress(overrides: Partial<RolloutProgress> = {}, current = 2): RolloutProgress {
  return {
    rolloutId: 'r-1',
    status: 'running',
    total: 1000,
    succeeded: 50,
    failed: 2,
    aborted: 0,
    inFlight: 3,
    notAttempted: 945,
    failureRatio: 2 / 52,
    breaker: { tripped: false, reason: null },
    batches: { total: 4, started: 2, done: 1, running: 1 },
    failuresByType: {},
    startedAt: '2030-01-01T00:00:00.000Z',
    run: 0,
    batchSize: 500,
    fleet: { path: '/data/fleets/abc.ndjson', count: 1000, sha256: 'abc' },
    waves: {
      current,
      list: [
        wave(1, current > 1 ? 'done' : 'running', 10),
        wave(2, current > 2 ? 'done' : current === 2 ? 'running' : 'pending', 90),
        wave(3, current === 3 ? 'running' : 'pending', 400),
        wave(4, 'pending', 500),
      ],
    },
    waitingFor: null,
    live: { rate: 0, maxInFlight: 100, failureThreshold: 0.2 },
    etaSeconds: 120,
    ...overrides,
  };
}

const approval: WaitState = {
  kind: 'approval',
  wave: 1,
  message: 'approval of wave 2 (`rollout approve r-1`)',
};
const bake: WaitState = {
  kind: 'bake',
  wave: 1,
  until: '2030-01-01T01:00:00.000Z',
  message: 'the bake of wave 1 to end at 01:00:00Z (`rollout promote r-1` skips it)',
};
const paused: WaitState = {
  kind: 'resume',
  wave: 2,
  message: 'resume: paused by ops (`rollout resume r-1`)',
};

const running = progress();
const waitingApproval = progress(
  { status: 'waiting', waitingFor: approval, inFlight: 0, etaSeconds: null },
  1,
);
const baking = progress({ status: 'waiting', waitingFor: bake, inFlight: 0, etaSeconds: null }, 1);
const pausedByOps = progress({ status: 'paused', waitingFor: paused, etaSeconds: null });
const completed = progress({ status: 'completed', inFlight: 0 }, 4);

describe('describeState', () => {
  it.each<[string, RolloutProgress, string]>([
    ['running', running, 'running wave 2 of 4'],
    [
      'running a single wave',
      progress({ waves: { current: 1, list: [wave(1, 'running', 1000)] } }),
      'running',
    ],
    ['waiting for approval', waitingApproval, 'waiting for approval of wave 2 (`rollout approve r-1`)'],
    [
      'paused',
      pausedByOps,
      'paused in wave 2 of 4, waiting for resume: paused by ops (`rollout resume r-1`)',
    ],
    [
      'waiting without a reason (older progress)',
      progress({ status: 'waiting', waitingFor: null }, 1),
      'waiting after wave 1 of 4',
    ],
    ['completed', completed, 'completed'],
  ])('says what a rollout %s is doing', (_, p, text) => {
    expect(describeState(p)).toBe(text);
  });
});

describe('refusal', () => {
  it.each<[ControlAction, RolloutProgress]>([
    ['pause', running],
    ['pause', waitingApproval],
    ['resume', pausedByOps],
    ['approve', waitingApproval],
    ['approve', baking],
    ['promote', baking],
  ])('lets %s through when it applies', (action, p) => {
    expect(refusal(action, 'r-1', p)).toBeUndefined();
  });

  it.each<[ControlAction, RolloutProgress, string]>([
    ['approve', running, 'rollout "r-1" is not waiting for approval (it is running wave 2 of 4)'],
    [
      'approve',
      pausedByOps,
      'rollout "r-1" is not waiting for approval (it is paused in wave 2 of 4, waiting for resume: paused by ops (`rollout resume r-1`))',
    ],
    ['resume', running, 'rollout "r-1" is not paused (it is running wave 2 of 4)'],
    [
      'resume',
      waitingApproval,
      'rollout "r-1" is not paused (it is waiting for approval of wave 2 (`rollout approve r-1`))',
    ],
    [
      'pause',
      pausedByOps,
      'rollout "r-1" is already paused (it is paused in wave 2 of 4, waiting for resume: paused by ops (`rollout resume r-1`)) — `rollout resume r-1` continues it',
    ],
    ['promote', running, 'rollout "r-1" is not baking (it is running wave 2 of 4)'],
    [
      'promote',
      waitingApproval,
      'rollout "r-1" is not baking (it is waiting for approval of wave 2 (`rollout approve r-1`))',
    ],
    ['pause', completed, 'rollout "r-1" already ended (completed); there is nothing to pause'],
    [
      'approve',
      progress({ status: 'halted' }),
      'rollout "r-1" already ended (halted); there is nothing to approve',
    ],
  ])('refuses %s with a message naming the state', (action, p, message) => {
    expect(refusal(action, 'r-1', p)).toBe(message);
  });
});

describe('tookEffect', () => {
  it.each<[ControlAction, RolloutProgress, RolloutProgress, boolean]>([
    ['pause', running, running, false],
    ['pause', running, pausedByOps, true],
    ['resume', pausedByOps, pausedByOps, false],
    ['resume', pausedByOps, running, true],
    ['approve', waitingApproval, waitingApproval, false],
    ['approve', waitingApproval, progress(), true],
    ['approve', baking, waitingApproval, true],
    ['promote', baking, baking, false],
    ['promote', baking, waitingApproval, true],
    ['promote', baking, completed, true],
  ])('%s: %#', (action, before, after, expected) => {
    expect(tookEffect(action, before, after)).toBe(expected);
  });
});

describe('confirmation', () => {
  it('says how many pushes in flight finish after a pause, with the reason', () => {
    expect(confirmation('pause', 'r-1', running, pausedByOps, 'ops')).toBe(
      'rollout r-1 paused (ops): 3 pushes in flight will finish, no new push starts — `rollout resume r-1` continues it',
    );
    expect(confirmation('pause', 'r-1', running, { ...pausedByOps, inFlight: 1 })).toMatch(
      /^rollout r-1 paused: 1 push in flight will finish,/,
    );
    expect(confirmation('pause', 'r-1', running, { ...pausedByOps, inFlight: 0 })).toMatch(
      /^rollout r-1 paused: no push is in flight, no new push starts/,
    );
  });

  it('says which wave runs after resume, approve and promote', () => {
    expect(confirmation('resume', 'r-1', pausedByOps, running)).toBe(
      'rollout r-1 resumed: wave 2 of 4 is running',
    );
    expect(confirmation('approve', 'r-1', waitingApproval, running)).toBe(
      'rollout r-1 approved: wave 2 of 4 is running',
    );
    expect(confirmation('approve', 'r-1', baking, running)).toBe(
      'rollout r-1 approved: bake cut short; wave 2 of 4 is running',
    );
    expect(confirmation('promote', 'r-1', baking, waitingApproval)).toBe(
      'rollout r-1 promoted: bake of wave 1 skipped; it is waiting for approval of wave 2 (`rollout approve r-1`)',
    );
  });

  it('says the failures counted so far are accepted when a breaker pause is resumed', () => {
    const tripped = {
      ...pausedByOps,
      breaker: { tripped: true, reason: 'failure ratio 0.3 > 0.2' },
      failed: 12,
    };
    expect(confirmation('resume', 'r-1', tripped, running)).toBe(
      'rollout r-1 resumed: wave 2 of 4 is running; the breaker counts afresh, accepting the 12 failures so far',
    );
  });

  it('says a one-wave rollout pushes again after resume', () => {
    const single = { waves: { current: 1, list: [wave(1, 'running', 1000)] } };
    expect(confirmation('resume', 'r-1', progress({ ...single, status: 'paused' }), progress(single))).toBe(
      'rollout r-1 resumed: pushing again',
    );
  });

  it('says when the rollout ended meanwhile', () => {
    expect(confirmation('approve', 'r-1', waitingApproval, completed)).toBe(
      'rollout r-1 approved: it ended completed',
    );
  });
});
