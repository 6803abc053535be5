import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { SimulatorError, SimulatorErrorCode } from './errors.js';

/**
 * HTTPS for the simulated fleet: every device answers over TLS with this identity, and with
 * `requestCert` demands a client certificate signed by `ca` (mutual TLS). PEM text or bytes.
 */
export interface SimulatorTlsOptions {
  /** The devices' private key. */
  key: string | Buffer;
  /** The devices' certificate (chain); it must name the host in the device URLs (e.g. IP:127.0.0.1). */
  cert: string | Buffer;
  /** CA certificate(s) that sign acceptable client certificates; required with `requestCert`. */
  ca?: string | Buffer;
  /**
   * Mutual TLS: a client without a certificate is refused during the handshake (TLS 1.3 alert
   * `certificate_required`); one whose certificate `ca` did not sign is disconnected right after
   * it (Node sends no alert then). Either way the device never sees the request.
   */
  requestCert?: boolean;
}

/**
 * The simulator's server: plain HTTP, or HTTPS with `tls`. `requestTimeout` 0: a device answers
 * on its own schedule, so Node must not answer 408 for it.
 * @throws SimulatorError for TLS options that cannot work (before binding a port).
 */
export function createDeviceServer(tls: SimulatorTlsOptions | undefined): Server {
  if (tls === undefined) return createHttpServer({ requestTimeout: 0 });
  if (isEmpty(tls.key) || isEmpty(tls.cert)) {
    throw new SimulatorError(SimulatorErrorCode.badOption, 'tls: key and cert are both required (PEM)');
  }
  if (tls.requestCert === true && isEmpty(tls.ca)) {
    throw new SimulatorError(
      SimulatorErrorCode.badOption,
      'tls.requestCert needs tls.ca: the CA certificate that signs acceptable client certificates',
    );
  }
  const requestCert = tls.requestCert === true;
  try {
    return createHttpsServer({
      key: tls.key,
      cert: tls.cert,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      requestCert,
      rejectUnauthorized: requestCert,
      requestTimeout: 0,
    });
  } catch (err) {
    throw new SimulatorError(
      SimulatorErrorCode.badOption,
      `tls: cannot use the key and certificate (${(err as Error).message})`,
    );
  }
}

function isEmpty(value: string | Buffer | undefined): boolean {
  return value === undefined || value.length === 0;
}
