import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AttemptRecord, SimulatorStats } from './stats.js';

/** What the control endpoints act on. */
export interface ControlTarget {
  readonly attempts: readonly AttemptRecord[];
  attemptsFor(id: string): AttemptRecord[];
  stats(): SimulatorStats;
  reset(): void;
  setBlackhole(on: boolean): void;
}

const recordsPerChunk = 1000;

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function* ndjsonChunks(records: readonly AttemptRecord[]): Generator<string> {
  for (let start = 0; start < records.length; start += recordsPerChunk) {
    const slice = records.slice(start, start + recordsPerChunk);
    yield slice.map((record) => `${JSON.stringify(record)}\n`).join('');
  }
}

function sendAttempts(target: ControlTarget, url: URL, res: ServerResponse): void {
  const device = url.searchParams.get('device');
  const records = device === null ? target.attempts.slice() : target.attemptsFor(device);
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  Readable.from(ndjsonChunks(records)).pipe(res);
}

function toggleBlackhole(target: ControlTarget, url: URL, res: ServerResponse): void {
  const on = url.searchParams.get('on');
  if (on !== '1' && on !== '0') {
    sendJson(res, 400, { status: 'bad-request', reason: 'use POST /_blackhole?on=1 or ?on=0' });
    return;
  }
  target.setBlackhole(on === '1');
  sendJson(res, 200, { blackhole: on === '1' });
}

/**
 * Serves the control endpoints (paths starting with `/_`; never blackholed, never recorded):
 * `GET /_health`, `GET /_stats`, `GET /_attempts[?device=ID]` (NDJSON), `POST /_reset`,
 * `POST /_blackhole?on=1|0`. Anything else under `/_` answers 404.
 */
export function handleControl(target: ControlTarget, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /_health':
      return sendJson(res, 200, { status: 'ok' });
    case 'GET /_stats':
      return sendJson(res, 200, target.stats());
    case 'GET /_attempts':
      return sendAttempts(target, url, res);
    case 'POST /_reset':
      target.reset();
      return sendJson(res, 200, { status: 'reset' });
    case 'POST /_blackhole':
      return toggleBlackhole(target, url, res);
    default:
      return sendJson(res, 404, { status: 'not-found', path: url.pathname });
  }
}
