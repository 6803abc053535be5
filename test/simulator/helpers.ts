import { createHash } from 'node:crypto';
import { request, type Agent } from 'undici';
import type { DeviceSimulator } from '../../simulator/index.js';

/** What a push got back: a status and body, or the client-side error. */
export type PushResult =
  { status: number; body: string; headers: Record<string, unknown> } | { error: Error };

/** Options of one test push. */
export interface PushOptions {
  body?: Buffer;
  /** Override the content-digest header; null leaves it out. */
  digest?: string | null;
  /** Idempotency key; default `r1:<id>`; null leaves it out. */
  key?: string | null;
  /** Client-side time limit in ms (the request is aborted then). */
  timeoutMs?: number;
  /** More request headers, e.g. `authorization`. */
  headers?: Record<string, string>;
}

/** `sha-256=:<base64>:` of the bytes (RFC 9530). */
export function contentDigest(body: Buffer): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

function pushHeaders(id: string, body: Buffer, options: PushOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'x-rollout-id': 'r1',
  };
  const digest = options.digest === undefined ? contentDigest(body) : options.digest;
  if (digest !== null) headers['content-digest'] = digest;
  const key = options.key === undefined ? `r1:${id}` : options.key;
  if (key !== null) headers['idempotency-key'] = key;
  return { ...headers, ...options.headers };
}

/** POSTs an artifact to one device the way the engine does, never throwing. */
export async function push(
  sim: DeviceSimulator,
  agent: Agent,
  id: string,
  options: PushOptions = {},
): Promise<PushResult> {
  const body = options.body ?? Buffer.from('artifact-bytes');
  try {
    const response = await request(sim.deviceUrl(id), {
      method: 'POST',
      dispatcher: agent,
      headers: pushHeaders(id, body, options),
      body,
      ...(options.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(options.timeoutMs) }),
    });
    return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
  } catch (error) {
    return { error: error as Error };
  }
}

/** The status of a result, failing the test if the push errored. */
export function statusOf(result: PushResult): number {
  if ('error' in result) throw new Error(`push failed: ${result.error.message}`);
  return result.status;
}

/** Polls `check` until it returns true, for at most `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
