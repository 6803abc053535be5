/**
 * The CLI as a child process against a TCP listener standing in for Temporal, for tests of
 * input a command must refuse before it connects: the listener counts connections, and those
 * tests expect none.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../shared/paths.js';

const TSX = resolve(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = resolve(REPO_ROOT, 'client', 'main.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface OfflineCli {
  /** A scratch folder, the CLI's working directory. */
  dir: string;
  /** `host:port` of the stand-in for Temporal. */
  address: string;
  /** Connections the stand-in received. */
  connections(): number;
  rollout(args: string[], env?: Record<string, string>): Promise<Run>;
  close(): Promise<void>;
}

export async function offlineCli(): Promise<OfflineCli> {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-cli-'));
  let connections = 0;
  const listener: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((ready) => listener.listen(0, '127.0.0.1', ready));
  const address = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
  const rollout = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((done) => {
      execFile(
        TSX,
        [MAIN, ...args],
        {
          cwd: dir,
          env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_CONNECT_TIMEOUT_MS: '2000', ...env },
          timeout: 60_000,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
          done({ code, stdout, stderr });
        },
      );
    });
  return {
    dir,
    address,
    connections: () => connections,
    rollout,
    close: async () => {
      await new Promise((closed) => listener.close(closed));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
