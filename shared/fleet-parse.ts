/**
 * Fleet file parsing: NDJSON, a JSON array, or CSV with a header line. Pure (no I/O), so the
 * client validates a file exactly as the worker will freeze it. Every problem is reported
 * with file, line, reason and fix; nothing is pushed from a file with any problem.
 */
import type { DeviceTarget } from './types.js';
import { show, suggest, toDevice } from './fleet-record.js';

/** The formats a fleet file may use (detected from its first non-space character). */
export const FleetFormat = { Ndjson: 'ndjson', JsonArray: 'json', Csv: 'csv' } as const;
export type FleetFormat = (typeof FleetFormat)[keyof typeof FleetFormat];

/** CSV columns (matched case-insensitively); `id` and `url` are required in the header line. */
export const CSV_COLUMNS = ['id', 'url', 'priority', 'group', 'token', 'statusUrl'] as const;

// Header cells are compared lower-cased, then named as the record field they fill.
const CSV_COLUMN_BY_LOWER: ReadonlyMap<string, string> = new Map(
  CSV_COLUMNS.map((c) => [c.toLowerCase(), c]),
);

const BLANK_RE = /^\s*$/;

/** Problems listed in a `FleetError` (the rest are counted). */
export const MAX_REPORTED_PROBLEMS = 20;

/** A fleet file with at least one problem. `problems` holds up to 20 "FILE:LINE: reason — fix" lines. */
export class FleetError extends Error {
  readonly code = 'ERR_FLEET_INVALID';
  override readonly name = 'FleetError';

  constructor(
    /** The file name as given to the parser. */
    readonly file: string,
    /** Line of the first problem (1-based). */
    readonly line: number,
    readonly problems: readonly string[],
    /** All problems found, including those not listed. */
    readonly problemCount: number,
  ) {
    const more = problemCount > problems.length ? `, first ${problems.length} shown` : '';
    const count = `${problemCount} problem${problemCount === 1 ? '' : 's'}${more}`;
    super(`invalid fleet file ${file} (${count}):\n${problems.join('\n')}`);
  }
}

/** The format a fleet text uses: first non-space char `[` → JSON array, `{` → NDJSON, else CSV. */
export function detectFleetFormat(text: string): FleetFormat {
  const first = /[^\s\uFEFF]/.exec(text)?.[0];
  return first === '[' ? FleetFormat.JsonArray : first === '{' ? FleetFormat.Ndjson : FleetFormat.Csv;
}

/** Parses a whole fleet file's text; throws `FleetError` listing every problem. */
export function parseFleet(text: string, fileName: string): DeviceTarget[] {
  const parser = new FleetParser(fileName);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    parser.line(text.slice(start, end));
    start = end + 1;
  }
  return parser.finish();
}

/** Streaming variant: parses the file's lines in order (without their `\n`). */
export async function parseFleetLines(
  lines: AsyncIterable<string> | Iterable<string>,
  fileName: string,
): Promise<DeviceTarget[]> {
  const parser = new FleetParser(fileName);
  for await (const line of lines) parser.line(line);
  return parser.finish();
}

/** Stable sort, higher priority first, missing priority counting as 0. Returns a new array. */
export function sortByPriority<T extends { priority?: number | undefined }>(devices: readonly T[]): T[] {
  // Array.prototype.sort is stable (ES2019), so ties keep file order.
  return [...devices].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
}

/** Options of `FleetParser`. */
export interface FleetParserOptions {
  /**
   * A check of the caller's own on each valid device (e.g. the client's `--allow-hosts`): it
   * appends its problems (reason — fix, without file or line) to `problems`, and a device with
   * any is reported at its line like every other problem.
   */
  checkDevice?: (device: DeviceTarget, problems: string[]) => void;
}

/**
 * Incremental parser: feed it the file line by line with `line()`, then call `finish()`. NDJSON
 * and CSV are validated as they come (memory: the devices plus an id map); a JSON array is
 * collected and parsed at the end.
 */
export class FleetParser {
  #lineNo = 0;
  #format: FleetFormat | undefined;
  #firstLine = 0;
  #columns: string[] | undefined;
  readonly #jsonLines: string[] = [];
  readonly #devices: DeviceTarget[] = [];
  readonly #seen = new Map<string, number>();
  readonly #problems: string[] = [];
  readonly #recordProblems: string[] = []; // reused: no allocation per valid record
  #problemCount = 0;
  #firstProblemLine = 0;

  readonly #checkDevice: FleetParserOptions['checkDevice'];

  constructor(
    readonly fileName: string,
    options: FleetParserOptions = {},
  ) {
    this.#checkDevice = options.checkDevice;
  }

  /** The detected format, once a non-blank line was seen. */
  get format(): FleetFormat | undefined {
    return this.#format;
  }

  /** Feeds the next line (a trailing `\r` and a leading BOM are ignored). */
  line(raw: string): void {
    const n = ++this.#lineNo;
    let text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const blank = text.length === 0 || (text.charCodeAt(0) <= 32 && BLANK_RE.test(text));
    if (this.#format === undefined) {
      if (blank) return;
      this.#format = detectFleetFormat(text);
      this.#firstLine = n;
      if (this.#format === FleetFormat.Csv) return this.#csvHeader(text, n);
    }
    if (this.#format === FleetFormat.JsonArray) this.#jsonLines.push(text);
    else if (blank) return;
    else if (this.#format === FleetFormat.Ndjson) this.#ndjsonLine(text, n);
    else this.#csvRow(text, n);
  }

  /** The devices in file order; throws `FleetError` if any line had a problem or there is none. */
  finish(): DeviceTarget[] {
    if (this.#format === FleetFormat.JsonArray) this.#jsonArray(this.#jsonLines.join('\n'));
    if (this.#devices.length === 0 && this.#problemCount === 0) {
      this.#problem(
        Math.max(this.#firstLine, 1),
        'no devices — add at least one device (NDJSON, a JSON array, or CSV with an id,url header line)',
      );
    }
    if (this.#problemCount > 0) {
      throw new FleetError(this.fileName, this.#firstProblemLine, this.#problems, this.#problemCount);
    }
    return this.#devices;
  }

  #problem(line: number, reason: string): void {
    if (this.#problemCount++ === 0) this.#firstProblemLine = line;
    if (this.#problems.length < MAX_REPORTED_PROBLEMS)
      this.#problems.push(`${this.fileName}:${line}: ${reason}`);
  }

  #record(record: Record<string, unknown>, line: number, fromCsv = false): void {
    const problems = this.#recordProblems;
    const { id, device } = toDevice(record, problems, fromCsv);
    if (device !== undefined) this.#checkDevice?.(device, problems);
    const rejected = problems.length > 0;
    if (rejected) {
      for (const reason of problems) this.#problem(line, reason);
      problems.length = 0;
    }
    if (id === undefined) return;
    const first = this.#seen.get(id);
    if (first !== undefined) {
      this.#problem(
        line,
        `duplicate id ${show(id)} (first on line ${first}) — give every device a unique id`,
      );
      return;
    }
    this.#seen.set(id, line);
    if (device !== undefined && !rejected) this.#devices.push(device);
  }

  #object(value: unknown, line: number, what: string): void {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      this.#record(value as Record<string, unknown>, line);
    } else {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      this.#problem(line, `expected a JSON object (got ${kind}) — ${what}`);
    }
  }

  #ndjsonLine(text: string, n: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.#problem(n, `not valid JSON (${(err as Error).message}) — write one JSON object per line`);
      return;
    }
    this.#object(value, n, 'write one device object per line');
  }

  #jsonArray(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const line = this.#firstLine + lineAtPosition(text, (err as Error).message) - 1;
      this.#problem(line, `not valid JSON (${(err as Error).message}) — fix the JSON array`);
      return;
    }
    if (!Array.isArray(value)) {
      this.#problem(this.#firstLine, 'expected a JSON array of device objects — wrap the devices in [ ]');
      return;
    }
    const lines = elementLines(text);
    value.forEach((element: unknown, i) => {
      const line = this.#firstLine + (lines[i] ?? 1) - 1;
      this.#object(element, line, 'make each array element a device object');
    });
  }

  #csvHeader(text: string, n: number): void {
    const cells = splitCsvLine(text);
    if (typeof cells === 'string') return this.#problem(n, `header line: ${cells}`);
    const names = cells.map((c) => c.trim().toLowerCase());
    let ok = true;
    names.forEach((name, i) => {
      const problem = !CSV_COLUMN_BY_LOWER.has(name)
        ? `unknown column ${show(cells[i])}${suggest(name, CSV_COLUMNS)} — the first line must name the columns, from: ${CSV_COLUMNS.join(', ')}`
        : names.indexOf(name) !== i
          ? `column ${show(CSV_COLUMN_BY_LOWER.get(name))} appears twice — name each column once`
          : undefined;
      if (problem !== undefined) {
        ok = false;
        this.#problem(n, problem);
      }
    });
    for (const required of ['id', 'url']) {
      if (!names.includes(required)) {
        ok = false;
        this.#problem(n, `missing column "${required}" — the header line must name at least id and url`);
      }
    }
    if (ok) this.#columns = names.map((name) => CSV_COLUMN_BY_LOWER.get(name) ?? name);
  }

  #csvRow(text: string, n: number): void {
    const columns = this.#columns;
    if (columns === undefined) return; // the header's problems are already reported
    const cells = splitCsvLine(text);
    if (typeof cells === 'string') return this.#problem(n, cells);
    if (cells.length !== columns.length) {
      return this.#problem(
        n,
        `expected ${columns.length} fields (${columns.join(',')}), got ${cells.length} — quote fields that contain commas`,
      );
    }
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] ?? '';
      const cell = cells[i] ?? '';
      if (cell !== '' || column === 'id' || column === 'url') record[column] = cell;
    }
    this.#record(record, n, true);
  }
}

/**
 * Splits one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote; unquoted cells trimmed).
 * Returns the cells, or a problem description.
 */
export function splitCsvLine(line: string): string[] | string {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let cell = '';
      for (i++; ; i++) {
        if (i >= line.length) return 'unterminated quoted field — close the quote on the same line';
        if (line[i] !== '"') cell += line.charAt(i);
        else if (line[i + 1] === '"') cell += line.charAt(i++);
        else break;
      }
      for (i++; line[i] === ' ' || line[i] === '\t';) i++;
      if (i < line.length && line[i] !== ',') {
        return 'unexpected text after a closing quote — write a quote inside a quoted field as ""';
      }
      cells.push(cell);
    } else {
      const end = line.indexOf(',', i);
      cells.push(line.slice(i, end === -1 ? line.length : end).trim());
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return cells;
    i++; // the comma
  }
}

/** 1-based line of the `position N` a JSON.parse error message names (1 if it names none). */
function lineAtPosition(text: string, message: string): number {
  const lineMatch = /\(line (\d+) column \d+\)/.exec(message);
  if (lineMatch !== null) return Number(lineMatch[1]);
  const posMatch = /position (\d+)/.exec(message);
  if (posMatch === null) return 1;
  const end = Math.min(Number(posMatch[1]), text.length);
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** 1-based line on which each top-level element of a (valid) JSON array starts. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped char (never a newline in valid JSON)
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (depth === 1 && expectValue && c !== 93) {
      lines.push(line);
      expectValue = false;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) expectValue = ++depth === 1;
    else if (c === 93 || c === 125) depth--;
    else if (c === 44 && depth === 1) expectValue = true;
  }
  return lines;
}
