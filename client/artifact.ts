/**
 * The artifact as `rollout start` checks it: a readable regular file, hashed as a stream (a
 * 100 MB artifact costs 64 KiB of memory) into the base64 SHA-256 every push sends as
 * `content-digest` and every push verifies again.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sha256Stream } from '../shared/digest.js';
import type { ArtifactRef } from '../shared/types.js';
import { CliError } from './errors.js';
import { errorCode } from './fleet-file.js';

/** Describes the artifact at `path`. Throws `CliError` naming `--artifact` when it cannot be used. */
export async function checkArtifact(path: string): Promise<ArtifactRef> {
  const absolute = resolve(path);
  try {
    const info = await stat(absolute);
    if (!info.isFile()) {
      const what = info.isDirectory() ? 'a directory' : 'not a regular file';
      throw new CliError(`--artifact ${path}: is ${what} — give the file to push`);
    }
    let size = 0;
    const sha256 = await sha256Stream(
      (async function* () {
        for await (const chunk of createReadStream(absolute)) {
          size += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      })(),
      'base64',
    );
    return { path: absolute, sha256, size };
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      `--artifact ${path}: cannot read (${errorCode(err)}) — check the path and its permissions`,
    );
  }
}

/** `12.3 MB`, `512 B`: sizes for people (decimal units, as the Web UI shows them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}
