import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../shared/paths.js';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/definitions.js';

const execFileAsync = promisify(execFile);
const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

/** Runs Debian's `docker-compose` (v1) on the project's compose file; stdout on success. */
async function compose(...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('docker-compose', ['-f', COMPOSE_FILE, ...args], {
      cwd: REPO_ROOT,
    });
    return stdout;
  } catch (error) {
    const { code, stderr } = error as NodeJS.ErrnoException & { stderr?: string };
    if (code === 'ENOENT') {
      throw new Error(
        'docker-compose is not installed; install it with `apt-get install -y docker-compose` ' +
          '(.ci/run does) to validate docker-compose.yml',
      );
    }
    throw new Error(`docker-compose ${args.join(' ')} failed: ${stderr ?? String(error)}`);
  }
}

/**
 * The lines of one service in `docker-compose config` output (v1 prints normalized YAML:
 * services two spaces in, their keys four, maps as `KEY: value`), so no YAML parser is needed.
 */
function serviceBlock(config: string, name: string): string {
  const lines = config.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start < 0) throw new Error(`service ${name} not in docker-compose config output`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.trim() !== '' && !line.startsWith('   '));
  return rest.slice(0, end < 0 ? undefined : end).join('\n');
}

describe('docker-compose.yml', () => {
  it('is a valid compose file', async () => {
    await expect(compose('config', '-q')).resolves.toBe('');
  });

  it('defines the production services', async () => {
    const services = (await compose('config', '--services')).trim().split('\n');
    expect(services).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal',
        'temporal-ui',
        'temporal-admin',
        'worker',
        'simulator',
      ]),
    );
  });

  it('points the worker at the cluster and keeps it scalable', async () => {
    const worker = serviceBlock(await compose('config'), 'worker');
    expect(worker).toMatch(/^ {6}TEMPORAL_ADDRESS: '?temporal:7233'?$/m);
    expect(worker).toMatch(/^ {6}TEMPORAL_NAMESPACE: default$/m);
    expect(worker).toMatch(/^ {6}TEMPORAL_TASK_QUEUE: rollouts$/m);
    expect(worker).toMatch(/^ {6}ROLLOUT_DATA_DIR: \/data$/m);
    expect(worker).toMatch(/rollout-data:\/data/);
    expect(worker).not.toMatch(/^ {4}(container_name|ports):/m);
  });

  it('registers the same search attributes as the workflow definitions', async () => {
    const admin = serviceBlock(await compose('config'), 'temporal-admin');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
      expect(admin).toContain(`${name}:${type}`);
  });
});
