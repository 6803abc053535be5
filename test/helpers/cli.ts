/**
 * Running the CLI (or any command) as a child process to its end, as the end-to-end, fault and
 * production tests do.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../shared/paths.js';

/** How a process ended: its exit code (-1 when a signal ended it) and its output. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in the repository with `env`, collecting its output. */
export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `npm run --silent rollout -- …args`, as users run it. */
export function runRollout(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runProcess('npm', ['run', '--silent', 'rollout', '--', ...args], env);
}

/** The last stdout line as JSON: the report of `start --wait --json`. */
export function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
