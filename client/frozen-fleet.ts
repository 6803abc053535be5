/**
 * The frozen fleet as `rollout results` reads it. The path in the report is the workers'; on
 * another machine the same copy may sit under this machine's ROLLOUT_DATA_DIR (frozen copies
 * are named by their digest), so that is tried next. When neither is readable, callers fall
 * back to device ranges and the user is told once why.
 */
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readFleetSlice } from '../shared/fleet-store.js';
import type { DeviceTarget, FrozenFleet } from '../shared/types.js';
import { errorCode } from './fleet-file.js';

export class FrozenFleetReader {
  #fleet: Promise<FrozenFleet | undefined> | undefined;

  constructor(
    private readonly frozen: FrozenFleet,
    private readonly dataDir: string,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`rollout results: ${m}\n`),
  ) {}

  /** Devices `start .. start + count - 1`, or undefined when the frozen fleet is not readable here. */
  async slice(start: number, count: number): Promise<DeviceTarget[] | undefined> {
    const fleet = await (this.#fleet ??= this.locate());
    return fleet === undefined ? undefined : await readFleetSlice(fleet, start, count);
  }

  private async locate(): Promise<FrozenFleet | undefined> {
    const candidates = [this.frozen.path, join(this.dataDir, 'fleets', basename(this.frozen.path))];
    let reason = '';
    for (const path of candidates) {
      try {
        await access(path);
        return { ...this.frozen, path };
      } catch (err) {
        reason ||= errorCode(err);
      }
    }
    this.warn(
      `the frozen fleet ${this.frozen.path} is not readable here (${reason}); devices of batches that never ` +
        'started are listed as {"batch","start","count"} ranges — set ROLLOUT_DATA_DIR to the workers\' data ' +
        'folder (or run this where the workers run) to list them by id',
    );
    return undefined;
  }
}
