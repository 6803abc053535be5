/**
 * The activities, created with their dependencies by the worker. Workflows import only the
 * type `ReturnType<typeof createActivities>`, never this code.
 */
import { Context } from '@temporalio/activity';
import type { Dispatcher } from 'undici';
import type { HostAllowlist } from '../shared/host-allowlist.js';
import type { PushInput } from '../shared/types.js';
import { checkArtifact } from './artifact-check.js';
import type { PushMetrics } from './metrics.js';
import { createFleetActivities } from './fleet.js';
import { createPushGroup } from './push-group.js';
import { waitForSlot } from './pace.js';
import { createPushUpdate, DEFAULT_HEARTBEAT_INTERVAL_MS } from './push.js';

/** What the activities need from the worker. */
export interface ActivityDeps {
  /** Shared keep-alive HTTP dispatcher (see `createDispatcher` in `http.ts`). */
  dispatcher: Dispatcher;
  /** Directory for frozen fleets, shared by every worker. */
  dataDir: string;
  /** Heartbeat period of a push in flight, in ms (default 1 s). */
  heartbeatIntervalMs?: number;
  /** Hosts pushes and status polls may reach (PUSH_ALLOW_HOSTS); absent: any host. */
  allowHosts?: HostAllowlist;
  /** Where push attempts are counted and timed (see metrics.ts); absent: nowhere. */
  metrics?: PushMetrics;
}

/** `pushUpdate`, `pushGroup` (the fast path), `freezeFleet` and `loadDevices`, bound to `deps`. */
export function createActivities(deps: ActivityDeps) {
  const { freezeFleet, loadDevices } = createFleetActivities({ dataDir: deps.dataDir });
  const transport = { dispatcher: deps.dispatcher, allowHosts: deps.allowHosts, metrics: deps.metrics };
  const push = createPushUpdate(
    deps.heartbeatIntervalMs === undefined
      ? transport
      : { ...transport, heartbeatIntervalMs: deps.heartbeatIntervalMs },
  );
  const pushGroup = createPushGroup({
    ...transport,
    // A group starts new pushes until it hears of a cancellation: let it hear within 0.2 s.
    heartbeatIntervalMs: Math.min(200, deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
  });
  /** One device's push, at its rate-limit slot if it has one. */
  const pushUpdate = async (input: PushInput): ReturnType<typeof push> => {
    await waitForSlot(input.notBefore, Context.current().cancellationSignal);
    return await push(input);
  };
  return { pushUpdate, pushGroup, freezeFleet, loadDevices, checkArtifact };
}

export type Activities = ReturnType<typeof createActivities>;
export {
  createDispatcher,
  DEFAULT_DISPATCHER_OPTIONS,
  type DispatcherOptions,
  type PushTlsOptions,
} from './http.js';
