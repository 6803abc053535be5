/**
 * Once per `vitest run`: a real Temporal dev server on free ports (in memory, search
 * attributes registered, Web UI on for the browser test) and one workflow bundle, shared by
 * every test file. Test files run their own workers on their own task queues against them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../scripts/lib/dev-server.js';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/definitions.js';
import { WORKFLOWS_PATH } from '../../worker/create.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** Web UI base URL, e.g. `http://127.0.0.1:41234`; null when the SDK runs the server. */
    temporalUiUrl: string | null;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-test-'));
  const [server, bundle] = await Promise.all([
    startDevServer({ ui: true, searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES } }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl ?? null);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
