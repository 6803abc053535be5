/**
 * Running the real push activities in a MockActivityEnvironment (the activity Context only, no
 * server), shared by the activity tests.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Agent } from 'undici';
import { createDispatcher } from '../../activities/http.js';
import { sha256Of } from '../../shared/digest.js';
import type { ArtifactRef, PushInput, PushResult } from '../../shared/types.js';

/** Failing attempts are the point of most activity tests: keep the activity logger quiet. */
export const quietLogger = new DefaultLogger('ERROR');

/** A fresh mock environment (attempt 1 unless `info` says otherwise) with the quiet logger. */
export function activityEnv(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ attempt: 1, ...info }, { logger: quietLogger });
}

/** Runs one push attempt; resolves with its result or the error it threw. */
export function runPush(
  push: (input: PushInput) => Promise<PushResult>,
  input: PushInput,
  env: MockActivityEnvironment = activityEnv(),
): Promise<PushResult | Error> {
  return env.run<[PushInput], PushResult, typeof push>(push, input).catch((err: Error) => err);
}

/** The outcome as the ApplicationFailure it must be (throws, naming what it got, otherwise). */
export function asFailure(outcome: unknown): ApplicationFailure {
  if (!(outcome instanceof ApplicationFailure))
    throw new Error(`expected an ApplicationFailure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Writes `bytes` as `dir/name` and describes it as the client would. */
export async function writeArtifact(dir: string, name: string, bytes: Buffer): Promise<ArtifactRef> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, sha256: sha256Of(bytes, 'base64'), size: bytes.length };
}

/** Polls `check` every 10 ms until true; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A worker-like dispatcher with short timeouts, so a test's idle connections close soon. */
export function testDispatcher(connectionsPerOrigin = 4): Agent {
  return createDispatcher({ connectionsPerOrigin, keepAliveTimeoutMs: 2000, connectTimeoutMs: 2000 });
}
