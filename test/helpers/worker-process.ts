/**
 * A rollout worker as its own process (`node --import tsx worker/main.ts`, what `npm run
 * worker` runs without the npm and tsx wrappers), so a fault test can SIGKILL, SIGSTOP and
 * SIGCONT the very process that runs the pushes.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { REPO_ROOT } from '../../shared/paths.js';

/** A running worker process. */
export interface WorkerProcess {
  readonly pid: number;
  /** The worker's Temporal identity (the SDK's default `<pid>@<host>`), as histories record it. */
  readonly identity: string;
  /** Resolves once the process is gone (exit code, or null after a signal). */
  readonly exited: Promise<number | null>;
  /** The last output lines (stdout and stderr), for failure messages. */
  output(): string;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL (a stopped process too) and wait until it is gone. Idempotent. */
  kill(): Promise<void>;
}

const READY_TIMEOUT_MS = 90 * 1000; // 90 s: tsx compiles the worker on a loaded 2-core machine
const OUTPUT_LIMIT = 16 * 1024; // 16 KiB of tail kept for messages

/**
 * Starts a worker with `env` (e.g. `TestEnv.processEnv()` plus `WORKFLOW_BUNDLE`) and resolves
 * once it prints "worker ready". Rejects with its output if it exits or stays silent first.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn a worker process');
  guardAgainstOrphan(pid);
  let output = '';
  const onData = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let killing: Promise<void> | undefined;
  const worker: WorkerProcess = {
    pid,
    identity: `${pid}@${hostname()}`,
    exited,
    output: () => output,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    kill: () =>
      (killing ??= (async () => {
        worker.signal('SIGKILL');
        await exited;
      })()),
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output.includes('worker ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await worker.kill();
      throw new Error(`worker process did not get ready (exit ${child.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return worker;
}

/**
 * A worker must not outlive the test process even when that one is killed (a run stopped by
 * a timeout): a detached shell SIGKILLs it once the test process is gone. SIGKILL, because a
 * test may have left it stopped (SIGSTOP), where SIGTERM would wait forever.
 */
function guardAgainstOrphan(pid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -KILL ${pid} 2>/dev/null`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}
