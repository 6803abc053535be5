/**
 * The fleet file as `rollout start` checks it: read, hashed and parsed in one streamed pass, with
 * the same parser the worker freezes it with, so a file the client accepts cannot be refused later
 * (unless it is edited in between, which the digest catches).
 */
import { resolve } from 'node:path';
import { FleetError } from '../shared/fleet-parse.js';
import { readFleetFile } from '../shared/fleet-store.js';
import type { FleetSource } from '../shared/types.js';
import { CliError } from './errors.js';

/** A valid fleet file: where it is, its digest, and how many devices it lists. */
export interface CheckedFleet {
  source: FleetSource;
  devices: number;
}

/**
 * Validates the fleet file at `path` (as the user typed it, so problems read `FILE:LINE`).
 * Throws `CliError`: the fleet problems as they are, or `--fleet FILE: cannot read (CODE)`.
 */
export async function checkFleetFile(path: string): Promise<CheckedFleet> {
  try {
    const { devices, sha256 } = await readFleetFile(path, path);
    return { source: { path: resolve(path), sha256 }, devices: devices.length };
  } catch (err) {
    if (err instanceof FleetError) throw new CliError(err.message, { asIs: true });
    throw new CliError(`--fleet ${path}: cannot read (${errorCode(err)}) — check the path`);
  }
}

/** The fs error code (`ENOENT`, `EACCES`, `EISDIR`), or the message. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}
