import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../shared/paths.js';
import { DYNAMIC_CONFIG } from '../../scripts/lib/dev-server.js';
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
        'prometheus',
      ]),
    );
  });

  it('pins every image version and health-checks the services others wait for', async () => {
    const config = await compose('config');
    const images = [...config.matchAll(/^ {4}image: (.+)$/gm)].map((m) => m[1]!);
    for (const image of images.filter((i) => !i.startsWith('rollout-engine:')))
      expect(image, `image ${image} has a pinned tag`).toMatch(/:[0-9v][\w.-]*$/);
    for (const name of ['postgresql', 'temporal', 'simulator'])
      expect(serviceBlock(config, name), `${name} health check`).toMatch(/^ {4}healthcheck:/m);
    expect(config).toMatch(/^ {2}postgresql-data:/m);
    // The server gets the same dynamic config as the embedded dev server.
    const temporal = serviceBlock(config, 'temporal');
    expect(temporal).toMatch(/DYNAMIC_CONFIG_FILE_PATH: config\/dynamicconfig\/rollout.yaml/);
    expect(temporal).toContain('deploy/dynamicconfig:/etc/temporal/config/dynamicconfig');
    const dynamic = readFileSync(join(REPO_ROOT, 'deploy', 'dynamicconfig', 'rollout.yaml'), 'utf8');
    for (const [key, value] of Object.entries(DYNAMIC_CONFIG))
      expect(dynamic, key).toContain(`\n${key}:\n  - value: ${String(value)}\n`);
    expect(config).toMatch(/^ {2}rollout-data:/m);
  });

  it('runs the compiled worker with its prebuilt bundle, metrics for Prometheus and JSON logs', async () => {
    const config = await compose('config');
    const worker = serviceBlock(config, 'worker');
    expect(worker).toMatch(/^ {6}WORKFLOW_BUNDLE: \/app\/dist\/workflow-bundle.js$/m);
    expect(worker).toMatch(/^ {6}METRICS_PORT: '9464'$/m);
    expect(worker).toMatch(/^ {6}LOG_FORMAT: json$/m);
    const prometheus = readFileSync(join(REPO_ROOT, 'deploy', 'prometheus.yml'), 'utf8');
    expect(prometheus).toMatch(/names: \['worker'\]/);
    expect(prometheus).toMatch(/port: 9464/);
    expect(serviceBlock(config, 'prometheus')).toContain('deploy/prometheus.yml');
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

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => ({
    image: m[1]!,
    name: m[2]!,
  }));

  it('is multi-stage on a pinned Node 20 image', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    for (const stage of stages.filter((s) => s.image.startsWith('node:')))
      expect(stage.image).toMatch(/^node:20\.\d+\.\d+-/);
  });

  it('installs from the lock file, compiles, and ships dist/ with runtime dependencies only', () => {
    expect(dockerfile).toMatch(/RUN npm ci --no-audit --no-fund/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/COPY --from=build .*\/app\/dist \.\/dist/);
    expect(runtime).toMatch(/COPY --from=prod-deps .*node_modules/);
    expect(runtime).not.toMatch(/COPY --chown=node:node \. \./);
  });

  it('runs the compiled worker with the prebuilt bundle as the unprivileged node user', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/worker\/main\.js"\]$/m);
  });

  it('copies every source folder the build compiles', () => {
    const build = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    for (const folder of build.include) expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
  });
});
