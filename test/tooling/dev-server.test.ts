import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { isServerReachable, startDevServer } from '../../scripts/lib/dev-server.js';
import { freePort, isPortFree } from '../../scripts/lib/ports.js';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/definitions.js';
import { startTestDevServer } from '../setup/dev-server-env.js';

/** `temporal.api.enums.v1.IndexedValueType` numbers, by the names start-dev takes. */
const INDEXED_VALUE_TYPE: Record<string, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
};

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

describe('dev server', () => {
  it('registers the rollout search attributes, persists to its db file and frees its port on stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-server-test-'));
    const dbFile = join(dir, 'nested', 'temporal.db');
    const server = await startTestDevServer({ dbFile });
    try {
      expect(server.pid).toBeGreaterThan(0);
      const connection = await Connection.connect({ address: server.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({
          namespace: server.namespace,
        });
        for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
          expect(customAttributes?.[name], name).toBe(INDEXED_VALUE_TYPE[type]);
        }
      } finally {
        await connection.close();
      }
      expect((await stat(dbFile)).size).toBeGreaterThan(0);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
    await expect(server.exited).resolves.toBeDefined();
    expect(await isPortFree(portOf(server.address))).toBe(true);
    expect(await isServerReachable(server.address, 1000)).toBe(false);
  });

  it('serves the Web UI on the port it reports', async () => {
    const server = await startDevServer({ ui: true });
    try {
      expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.uiUrl}/`);
      expect(response.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('fails with the server output when the server exits before it is ready', async () => {
    const sockets: Socket[] = [];
    const blocker = createServer((socket) => sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startDevServer({ port, ui: false })).rejects.toThrow(
        /before it was ready[\s\S]*address already in use/,
      );
    } finally {
      sockets.forEach((socket) => socket.destroy());
      blocker.close();
    }
  });

  it('does not take another Temporal server on its port for its own', async () => {
    const first = await startTestDevServer();
    try {
      await expect(startTestDevServer({ port: portOf(first.address) })).rejects.toThrow(
        /exited \(code 1\) before it was ready[\s\S]*address already in use/,
      );
    } finally {
      await first.stop();
    }
  });

  it('rejects a bad port or search attribute with a message that says what to do', async () => {
    await expect(startDevServer({ port: 70000 })).rejects.toThrow(
      /port must be an integer port between 1 and 65535/,
    );
    await expect(startDevServer({ searchAttributes: { 'no-dashes': 'Keyword' } })).rejects.toThrow(
      /search attribute no-dashes=Keyword is invalid/,
    );
  });
});

describe('ports', () => {
  it('hands out a port nothing listens on, and sees one that is taken', async () => {
    const port = await freePort();
    expect(await isPortFree(port)).toBe(true);
    const sockets: Socket[] = [];
    const holder = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isPortFree(port)).toBe(false);
      expect(await isServerReachable(`127.0.0.1:${port}`, 500)).toBe(false);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      holder.close();
    }
  });
});
