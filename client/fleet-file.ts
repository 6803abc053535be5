/**
 * The fleet file as `rollout start` checks it: read, hashed and parsed in one streamed pass, with
 * the same parser the worker freezes it with, so a file the client accepts cannot be refused later
 * (unless it is edited in between, which the digest catches).
 */
import { resolve } from 'node:path';
import { FleetError } from '../shared/fleet-parse.js';
import { readFleetFile } from '../shared/fleet-store.js';
import { hostOf, type HostAllowlist } from '../shared/host-allowlist.js';
import type { DeviceTarget, FleetSource } from '../shared/types.js';
import { CliError } from './errors.js';

/** A valid fleet file: where it is, its digest, and how many devices it lists. */
export interface CheckedFleet {
  source: FleetSource;
  devices: number;
}

/** What `checkFleetFile` checks besides the file itself. */
export interface FleetCheckOptions {
  /** Every URL a device's push or status poll would reach must be on one of these hosts. */
  allowHosts?: HostAllowlist | undefined;
  /** The `--verify` template, for devices without their own `statusUrl` (`{id}` = the device id). */
  verifyTemplate?: string | undefined;
}

/**
 * Validates the fleet file at `path` (as the user typed it, so problems read `FILE:LINE`), and
 * with `allowHosts` the host of every device's `url`, `statusUrl` (or `--verify` URL) against
 * it. Throws `CliError`: the fleet problems as they are, or `--fleet FILE: cannot read (CODE)`.
 */
export async function checkFleetFile(path: string, check: FleetCheckOptions = {}): Promise<CheckedFleet> {
  try {
    const { allowHosts, verifyTemplate } = check;
    const options = allowHosts === undefined ? {} : { checkDevice: hostCheck(allowHosts, verifyTemplate) };
    const { devices, sha256 } = await readFleetFile(path, path, options);
    return { source: { path: resolve(path), sha256 }, devices: devices.length };
  } catch (err) {
    if (err instanceof FleetError) throw new CliError(err.message, { asIs: true });
    throw new CliError(`--fleet ${path}: cannot read (${errorCode(err)}) — check the path`);
  }
}

/** The fs error code (`ENOENT`, `EACCES`, `EISDIR`), or the message. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

/** A fleet device check: each URL a push or poll of the device would reach is on a host `--allow-hosts` lists. */
function hostCheck(
  allowHosts: HostAllowlist,
  verifyTemplate: string | undefined,
): (device: DeviceTarget, problems: string[]) => void {
  return (device, problems) => {
    const urls: Array<[string, string | undefined]> = [
      ['"url"', device.url],
      ['"statusUrl"', device.statusUrl],
    ];
    if (device.statusUrl === undefined && verifyTemplate !== undefined) {
      urls.push(['--verify URL', verifyTemplate.replaceAll('{id}', encodeURIComponent(device.id))]);
    }
    for (const [label, url] of urls) {
      if (url === undefined || allowHosts.allows(url)) continue;
      problems.push(
        `${disallowedHost(label, url, allowHosts)} — fix the URL, or add the host to --allow-hosts`,
      );
    }
  };
}

/** `"url" host evil.example.org:443 is not in --allow-hosts (*.example.com)`. */
export function disallowedHost(label: string, url: string, allowHosts: HostAllowlist): string {
  const target = hostOf(url);
  const host = target === undefined ? url : `${target.host}:${target.port}`;
  return `${label} host ${host} is not in --allow-hosts (${allowHosts.toString()})`;
}
