/**
 * `checkArtifact`: the rollout's first step (since the `check-artifact-at-start` patch). The
 * client hashed the artifact when it validated the start; if the file changed or vanished on
 * the workers' side before the rollout began, the rollout fails at once with a clear error
 * instead of halting on its first pushes.
 */
import { stat } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { sha256File } from '../shared/digest.js';
import { FailureType } from '../shared/failure-types.js';
import type { ArtifactRef } from '../shared/types.js';

export async function checkArtifact(artifact: ArtifactRef): Promise<void> {
  let digest: string;
  let size: number;
  try {
    const stats = await stat(artifact.path);
    if (!stats.isFile()) throw new Error('not a regular file');
    size = stats.size;
    digest = await sha256File(artifact.path, 'base64');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `the worker cannot read the artifact ${artifact.path}: ${(err as Error).message} ` +
        '(workers need the same path the client saw, e.g. a shared volume)',
      FailureType.ArtifactUnreadable,
    );
  }
  if (digest !== artifact.sha256 || size !== artifact.size) {
    throw ApplicationFailure.nonRetryable(
      `the artifact ${artifact.path} changed after the rollout was started: it has ${size} bytes ` +
        `and sha-256 ${digest}, the client validated ${artifact.size} bytes and sha-256 ${artifact.sha256}; ` +
        'start a new rollout with the file you mean to ship',
      FailureType.ArtifactChanged,
    );
  }
}
