import type { Socket } from 'node:net';

/** Connection figures of `SimulatorStats`. */
export interface ConnectionStats {
  connections: number;
  openConnections: number;
  maxOpenConnections: number;
  /** TLS handshakes that failed (HTTPS only): the client did not trust the devices, or vice versa. */
  tlsFailures: number;
}

/**
 * Tracks the TCP connections a server accepted: how many, how many open at once, and the open
 * sockets themselves so that `destroyAll()` can end hanging and keep-alive ones promptly.
 */
export class ConnectionTracker {
  private readonly open = new Set<Socket>();
  private accepted = 0;
  private maxOpen = 0;
  private tlsFailureCount = 0;

  /** Call on the server's `connection` event. */
  add(socket: Socket): void {
    this.accepted += 1;
    this.open.add(socket);
    if (this.open.size > this.maxOpen) this.maxOpen = this.open.size;
    socket.once('close', () => this.open.delete(socket));
  }

  /** Call on the server's `tlsClientError` event. */
  tlsFailed(): void {
    this.tlsFailureCount += 1;
  }

  /** Destroys every open socket, mid-request or idle. */
  destroyAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  /** Forgets the counters; the peak restarts from the connections open now. */
  reset(): void {
    this.accepted = 0;
    this.tlsFailureCount = 0;
    this.maxOpen = this.open.size;
  }

  /** Current figures. */
  snapshot(): ConnectionStats {
    return {
      connections: this.accepted,
      openConnections: this.open.size,
      maxOpenConnections: this.maxOpen,
      tlsFailures: this.tlsFailureCount,
    };
  }
}
