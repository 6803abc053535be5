import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SimulatorError, SimulatorErrorCode } from './errors.js';

/** Formats of a fleet file (see DESIGN.md, "Fleet file"). */
export const FleetFormat = { ndjson: 'ndjson', json: 'json', csv: 'csv' } as const;
export type FleetFormat = (typeof FleetFormat)[keyof typeof FleetFormat];

/** Options of `DeviceSimulator.writeFleet`. */
export interface WriteFleetOptions {
  /** Default `ndjson`. */
  format?: FleetFormat;
  /** Priority of a device (higher goes first); undefined leaves the field out. */
  priority?: (id: string, index: number) => number | undefined;
  /** Group of a device; undefined leaves the field out. */
  group?: (id: string, index: number) => string | undefined;
}

/** One line of a fleet file. */
export interface FleetEntry {
  id: string;
  url: string;
  priority?: number;
  group?: string;
}

const linesPerChunk = 1000;

function entryAt(
  id: string,
  index: number,
  urlOf: (id: string) => string,
  options: WriteFleetOptions,
): FleetEntry {
  const entry: FleetEntry = { id, url: urlOf(id) };
  const priority = options.priority?.(id, index);
  const group = options.group?.(id, index);
  if (priority !== undefined) entry.priority = priority;
  if (group !== undefined) entry.group = group;
  return entry;
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function formatLine(entry: FleetEntry, format: FleetFormat, first: boolean): string {
  switch (format) {
    case 'ndjson':
      return `${JSON.stringify(entry)}\n`;
    case 'json':
      return `${first ? '' : ',\n'}  ${JSON.stringify(entry)}`;
    case 'csv':
      return `${[entry.id, entry.url, entry.priority, entry.group].map(csvCell).join(',')}\n`;
  }
}

function* fleetChunks(
  ids: readonly string[],
  urlOf: (id: string) => string,
  options: WriteFleetOptions,
): Generator<string> {
  const format = options.format ?? 'ndjson';
  if (format === 'json') yield '[\n';
  if (format === 'csv') yield 'id,url,priority,group\n';
  for (let start = 0; start < ids.length; start += linesPerChunk) {
    let chunk = '';
    const end = Math.min(ids.length, start + linesPerChunk);
    for (let index = start; index < end; index += 1) {
      chunk += formatLine(entryAt(ids[index] ?? '', index, urlOf, options), format, index === 0);
    }
    yield chunk;
  }
  if (format === 'json') yield ids.length === 0 ? ']\n' : '\n]\n';
}

/**
 * Writes a fleet file for `ids`, streaming it in chunks so that a million-device fleet never
 * sits in memory as one string.
 */
export async function writeFleetFile(
  path: string,
  ids: readonly string[],
  urlOf: (id: string) => string,
  options: WriteFleetOptions = {},
): Promise<void> {
  const format = options.format ?? 'ndjson';
  if (!Object.hasOwn(FleetFormat, format)) {
    const valid = Object.keys(FleetFormat).join(', ');
    throw new SimulatorError(
      SimulatorErrorCode.badOption,
      `fleet format "${format}" is unknown; use ${valid}`,
    );
  }
  await pipeline(Readable.from(fleetChunks(ids, urlOf, options)), createWriteStream(path));
}
