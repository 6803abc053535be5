/**
 * The frozen fleet: a priority-sorted NDJSON copy of the fleet file, named by its own
 * SHA-256, with an index of byte offsets so any slice is read without scanning the file.
 * Workflows carry only the small `FrozenFleet` handle; batches read their devices by slice.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { FleetParser, sortByPriority, type FleetParserOptions } from './fleet-parse.js';
import type { DeviceTarget, FleetSource, FrozenFleet } from './types.js';

const READ_CHUNK = 1024 * 1024; // 1 MiB
const WRITE_CHUNK = 1024 * 1024; // 1 MiB of text a write

/** The fleet file's bytes are not the ones the client validated. */
export class FleetChangedError extends Error {
  readonly code = 'ERR_FLEET_CHANGED';
  override readonly name = 'FleetChangedError';

  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `fleet file ${file} changed since it was validated (sha-256 ${actual}, expected ${expected}) — start the rollout again to validate the current file`,
    );
  }
}

/** A frozen copy that does not match its index (edited or truncated after freezing). */
export class FrozenFleetCorruptError extends Error {
  readonly code = 'ERR_FROZEN_FLEET_CORRUPT';
  override readonly name = 'FrozenFleetCorruptError';
}

/** A fleet file read and parsed in one streamed pass. */
export interface FleetFileInfo {
  devices: DeviceTarget[];
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  bytes: number;
}

/**
 * Reads, hashes and parses a fleet file in one streamed pass (the client's validation), with
 * the caller's own device check if `options` has one. Throws `FleetError` for an invalid file, or the fs error if it cannot be read.
 */
export async function readFleetFile(
  path: string,
  fileName: string = path,
  options: FleetParserOptions = {},
): Promise<FleetFileInfo> {
  const { parser, sha256, bytes } = await scanFleetFile(path, fileName, options);
  return { devices: parser.finish(), sha256, bytes };
}

/**
 * Freezes a validated fleet file into `<dataDir>/fleets/<sha256>.ndjson` (+ `.idx`), sorted
 * by priority. Throws `FleetChangedError` if the file's digest is not `source.sha256`, and
 * `FleetError` if it is invalid. Idempotent: freezing the same fleet again reuses the copy.
 */
export async function freezeFleet(source: FleetSource, dataDir: string): Promise<FrozenFleet> {
  const { parser, sha256 } = await scanFleetFile(source.path, source.path);
  if (sha256 !== source.sha256.toLowerCase()) throw new FleetChangedError(source.path, source.sha256, sha256);
  const devices = sortByPriority(parser.finish());
  const dir = join(resolve(dataDir), 'fleets');
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${process.pid}-${randomUUID()}`);
  try {
    const { digest, offsets } = await writeFrozen(`${tmp}.ndjson`, devices);
    const frozen: FrozenFleet = {
      path: join(dir, `${digest}.ndjson`),
      count: devices.length,
      sha256: digest,
      priorityLevels: new Set(devices.map((d) => d.priority)).size,
    };
    if (await isComplete(frozen, offsets)) return frozen;
    await writeAll(`${tmp}.idx`, new Uint8Array(offsets.buffer));
    // Index first, copy last: the copy's presence (with a matching index) means complete.
    await rename(`${tmp}.idx`, indexPathOf(frozen.path));
    await rename(`${tmp}.ndjson`, frozen.path);
    return frozen;
  } finally {
    await Promise.all([unlink(`${tmp}.ndjson`).catch(() => {}), unlink(`${tmp}.idx`).catch(() => {})]);
  }
}

/**
 * Devices `start` .. `start + count - 1` of a frozen fleet (fewer at its end), read through the
 * offsets index: two small reads, no scan. Throws `RangeError` for a negative or fractional range,
 * `FrozenFleetCorruptError` if the copy or its index was damaged, or the fs error (e.g. ENOENT).
 */
export async function readFleetSlice(
  fleet: FrozenFleet,
  start: number,
  count: number,
): Promise<DeviceTarget[]> {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`fleet slice must be whole numbers ≥ 0 (got start ${start}, count ${count})`);
  }
  const end = Math.min(start + count, fleet.count);
  if (start >= end) return [];
  const offsets = new Float64Array(end - start + 1);
  await readExactly(indexPathOf(fleet.path), new Uint8Array(offsets.buffer), start * 8);
  const first = offsets[0] ?? 0;
  const bytes = new Uint8Array((offsets[offsets.length - 1] ?? 0) - first);
  await readExactly(fleet.path, bytes, first);
  const lines = Buffer.from(bytes.buffer).toString('utf8').split('\n');
  lines.pop(); // the text after the last newline: empty
  if (lines.length !== end - start) {
    throw new FrozenFleetCorruptError(
      `frozen fleet ${fleet.path} does not match its index — start the rollout again`,
    );
  }
  return lines.map((line) => JSON.parse(line) as DeviceTarget);
}

/** Path of the offsets index beside a frozen fleet copy. */
export function indexPathOf(frozenPath: string): string {
  return frozenPath.replace(/\.ndjson$/, '') + '.idx';
}

async function scanFleetFile(
  path: string,
  fileName: string,
  options: FleetParserOptions = {},
): Promise<{ parser: FleetParser; sha256: string; bytes: number }> {
  const parser = new FleetParser(fileName, options);
  const hash = createHash('sha256');
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    bytes += buf.length;
    carry = feedLines(parser, carry + decoder.write(buf));
  }
  parser.line(carry + decoder.end());
  return { parser, sha256: hash.digest('hex'), bytes };
}

/** Feeds every complete line of `text` to the parser; returns the incomplete rest. */
function feedLines(parser: FleetParser, text: string): string {
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    parser.line(text.slice(start, nl));
    start = nl + 1;
  }
  return text.slice(start);
}

/** Writes one compact JSON device a line; returns the copy's digest and the line offsets. */
async function writeFrozen(
  path: string,
  devices: readonly DeviceTarget[],
): Promise<{ digest: string; offsets: Float64Array }> {
  const offsets = new Float64Array(devices.length + 1);
  const hash = createHash('sha256');
  const file = await open(path, 'wx');
  try {
    let text = '';
    let offset = 0;
    for (let i = 0; i < devices.length; i++) {
      const line = JSON.stringify(devices[i]) + '\n';
      text += line;
      offset += Buffer.byteLength(line);
      offsets[i + 1] = offset;
      if (text.length >= WRITE_CHUNK || i === devices.length - 1) {
        hash.update(text);
        await file.write(text);
        text = '';
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { digest: hash.digest('hex'), offsets };
}

async function writeAll(path: string, data: Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.write(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Whether a complete copy of this exact fleet already exists (copy and index of the right sizes). */
async function isComplete(frozen: FrozenFleet, offsets: Float64Array): Promise<boolean> {
  try {
    const [copy, index] = await Promise.all([stat(frozen.path), stat(indexPathOf(frozen.path))]);
    return copy.size === offsets[offsets.length - 1] && index.size === offsets.byteLength;
  } catch {
    return false;
  }
}

async function readExactly(path: string, into: Uint8Array, position: number): Promise<void> {
  const file = await open(path, 'r');
  try {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await file.read(into, done, into.length - done, position + done);
      if (bytesRead === 0) {
        throw new FrozenFleetCorruptError(`frozen fleet file ${path} is truncated — start the rollout again`);
      }
      done += bytesRead;
    }
  } finally {
    await file.close();
  }
}
