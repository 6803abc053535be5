/**
 * Fleet activities: freeze the validated fleet file into a sorted, indexed copy, and read a
 * batch's slice of it. Only the small `FrozenFleet` handle and bounded slices travel through
 * Temporal, never the whole fleet (payloads over 2 MB fail).
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../shared/failure-types.js';
import { FleetError } from '../shared/fleet-parse.js';
import {
  FleetChangedError,
  FrozenFleetCorruptError,
  freezeFleet,
  readFleetSlice,
} from '../shared/fleet-store.js';
import type { DeviceTarget, FleetSource, FrozenFleet } from '../shared/types.js';

/** Dependencies of the fleet activities. */
export interface FleetDeps {
  /** Directory for frozen fleets (`<dataDir>/fleets/`), shared by every worker. */
  dataDir: string;
}

/** The fleet activities, bound to their dependencies. */
export interface FleetActivities {
  /**
   * Freezes the fleet file the client validated. An invalid, changed or unreadable file fails
   * with the non-retryable `InvalidFleet` (every listed problem in its message); other I/O
   * errors (e.g. a full disk) are thrown as they are, so Temporal retries them.
   */
  freezeFleet(this: void, source: FleetSource): Promise<FrozenFleet>;
  /**
   * Devices `start` .. `start + count - 1` of the frozen fleet, in priority order. A bad range or
   * a damaged copy fails with the non-retryable `InvalidFleet`; a copy missing on this worker is
   * retried (another worker may see it, or a shared volume may come back).
   */
  loadDevices(this: void, fleet: FrozenFleet, start: number, count: number): Promise<DeviceTarget[]>;
}

/** Creates `freezeFleet` and `loadDevices`. */
export function createFleetActivities(deps: FleetDeps): FleetActivities {
  return {
    freezeFleet: async (source) => {
      try {
        return await freezeFleet(source, deps.dataDir);
      } catch (err) {
        throw invalidFleet(err, source.path);
      }
    },
    loadDevices: async (fleet, start, count) => {
      try {
        return await readFleetSlice(fleet, start, count);
      } catch (err) {
        if (err instanceof RangeError || err instanceof FrozenFleetCorruptError) {
          throw ApplicationFailure.create({
            type: FailureType.InvalidFleet,
            message: err.message,
            nonRetryable: true,
          });
        }
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        throw new Error(
          `frozen fleet ${fleet.path} is not on this worker (ENOENT) — give every worker the same data directory`,
          { cause: err },
        );
      }
    },
  };
}

function invalidFleet(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  let message: string;
  if (err instanceof FleetError || err instanceof FleetChangedError) message = err.message;
  else if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    message = `fleet file ${path} cannot be read on the worker (${code}) — put it where every worker can read it`;
  } else return err;
  return ApplicationFailure.create({
    type: FailureType.InvalidFleet,
    message,
    nonRetryable: true,
    cause: err as Error,
  });
}
