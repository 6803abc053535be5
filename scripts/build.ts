/**
 * `npm run build`: compiles the engine to `dist/` (plain JavaScript, no tsx at run time) and
 * bundles the workflow code once into `dist/workflow-bundle.js`, so a worker started from
 * `dist/` loads the prebuilt bundle instead of running webpack at every start (seconds and
 * hundreds of MB saved per worker).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../shared/paths.js';

/** Where the prebuilt workflow bundle goes (worker/config.ts looks for it there). */
export const BUNDLE_FILE = join(REPO_ROOT, 'dist', 'workflow-bundle.js');

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(join(REPO_ROOT, 'dist'), { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  writeFileSync(BUNDLE_FILE, code);
  console.log(
    `built dist/ and ${BUNDLE_FILE} (${(code.length / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().catch((err: unknown) => {
  console.error(`build: ${(err as Error).message ?? String(err)}`);
  process.exit(1);
});
