/**
 * Small artifacts are read and verified once per worker and sent from memory: a `stat` per
 * push instead of open + read + hash + close. Large artifacts are always streamed. The cached
 * copy is checked against the file's size, mtime and inode before every push, and a changed
 * file is re-read and its digest verified again, so an edited artifact is still caught.
 */
import { readFile, stat } from 'node:fs/promises';
import { sha256Of } from '../shared/digest.js';
import type { ArtifactRef } from '../shared/types.js';

/** Artifacts up to this size are kept in memory (one copy per worker, not per device). */
export const SMALL_ARTIFACT_BYTES = 1024 * 1024; // 1 MiB
const MAX_ENTRIES = 16;

interface Entry {
  bytes: Buffer;
  size: number;
  mtimeMs: number;
  ino: number;
}

const cache = new Map<string, Entry>();

/** Outcome of a lookup: the verified bytes, or why they cannot be used. */
export type CachedArtifact =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'large' }
  | { kind: 'changed'; what: string }
  | { kind: 'unreadable'; error: unknown };

export async function cachedArtifact(artifact: ArtifactRef): Promise<CachedArtifact> {
  if (artifact.size > SMALL_ARTIFACT_BYTES) return { kind: 'large' };
  const key = `${artifact.path}\0${artifact.sha256}`;
  let stats;
  try {
    stats = await stat(artifact.path);
  } catch (error) {
    return { kind: 'unreadable', error };
  }
  const hit = cache.get(key);
  if (hit && hit.size === stats.size && hit.mtimeMs === stats.mtimeMs && hit.ino === stats.ino) {
    return { kind: 'bytes', bytes: hit.bytes };
  }
  if (stats.size !== artifact.size)
    return { kind: 'changed', what: `${stats.size} bytes, expected ${artifact.size}` };
  let bytes: Buffer;
  try {
    bytes = await readFile(artifact.path);
  } catch (error) {
    return { kind: 'unreadable', error };
  }
  if (sha256Of(bytes, 'base64') !== artifact.sha256) return { kind: 'changed', what: 'its SHA-256 differs' };
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { bytes, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino });
  return { kind: 'bytes', bytes };
}
