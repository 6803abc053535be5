import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DeviceEndpoint } from './device-ids.js';
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
  /**
   * Write each device's `statusUrl` (its `GET /devices/<id>/status`), for verified completion:
   * true for every device, or a predicate choosing them. Default: none (CSV then has no such column).
   */
  statusUrl?: boolean | ((id: string, index: number) => boolean);
  /**
   * A device's `token`: a credential reference (`env:NAME` or `file:PATH`), never the secret;
   * undefined leaves the field out. Default: none (CSV then has no such column).
   */
  token?: (id: string, index: number) => string | undefined;
}

/** One line of a fleet file. */
export interface FleetEntry {
  id: string;
  url: string;
  priority?: number;
  group?: string;
  statusUrl?: string;
  token?: string;
}

/** A device's URL for one of its endpoints. */
export type DeviceUrlOf = (id: string, endpoint: DeviceEndpoint) => string;

const linesPerChunk = 1000;

function entryAt(id: string, index: number, urlOf: DeviceUrlOf, options: WriteFleetOptions): FleetEntry {
  const entry: FleetEntry = { id, url: urlOf(id, 'update') };
  const priority = options.priority?.(id, index);
  const group = options.group?.(id, index);
  const { statusUrl } = options;
  if (priority !== undefined) entry.priority = priority;
  if (group !== undefined) entry.group = group;
  if (statusUrl === true || (typeof statusUrl === 'function' && statusUrl(id, index))) {
    entry.statusUrl = urlOf(id, 'status');
  }
  const token = options.token?.(id, index);
  if (token !== undefined) entry.token = token;
  return entry;
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(entry: FleetEntry, options: WriteFleetOptions): string {
  const cells = [entry.id, entry.url, entry.priority, entry.group];
  if (hasStatusUrls(options)) cells.push(entry.statusUrl);
  if (options.token !== undefined) cells.push(entry.token);
  return `${cells.map(csvCell).join(',')}\n`;
}

function csvHeader(options: WriteFleetOptions): string {
  const columns = ['id', 'url', 'priority', 'group'];
  if (hasStatusUrls(options)) columns.push('statusUrl');
  if (options.token !== undefined) columns.push('token');
  return `${columns.join(',')}\n`;
}

function formatLine(entry: FleetEntry, options: WriteFleetOptions, first: boolean): string {
  switch (options.format ?? 'ndjson') {
    case 'ndjson':
      return `${JSON.stringify(entry)}\n`;
    case 'json':
      return `${first ? '' : ',\n'}  ${JSON.stringify(entry)}`;
    case 'csv':
      return csvLine(entry, options);
  }
}

function hasStatusUrls(options: WriteFleetOptions): boolean {
  return options.statusUrl !== undefined && options.statusUrl !== false;
}

function* fleetChunks(
  ids: readonly string[],
  urlOf: DeviceUrlOf,
  options: WriteFleetOptions,
): Generator<string> {
  const format = options.format ?? 'ndjson';
  if (format === 'json') yield '[\n';
  if (format === 'csv') yield csvHeader(options);
  for (let start = 0; start < ids.length; start += linesPerChunk) {
    let chunk = '';
    const end = Math.min(ids.length, start + linesPerChunk);
    for (let index = start; index < end; index += 1) {
      chunk += formatLine(entryAt(ids[index] ?? '', index, urlOf, options), options, index === 0);
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
  urlOf: DeviceUrlOf,
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
