/**
 * Host allowlists: which hosts pushes and status polls may reach. The same rules serve the
 * client (`rollout start --allow-hosts`, checked against the fleet file before anything starts)
 * and the worker (`PUSH_ALLOW_HOSTS`, enforced before any connection), so a fleet file cannot
 * send workers elsewhere even when the client check was skipped.
 *
 * An entry is one of (comma-separated, case-insensitive, spaces around commas ignored):
 * - `device.example.com` — that host name exactly, any port;
 * - `*.example.com` — any name ending in `.example.com`, however many labels come before it
 *   (`a.example.com`, `a.b.example.com`), but not `example.com` itself;
 * - `10.0.0.5`, `[fd00::5]` (or `fd00::5`) — that IP address, as written in the URL;
 * - any of these with `:PORT` — only that port (a URL without a port has 80 for http, 443 for https).
 * Host names are compared as the URL writes them; nothing is resolved, so `localhost` does not
 * allow `127.0.0.1`. Address ranges (CIDR) are not supported.
 */

/** One entry of an allowlist. */
export interface HostRule {
  /** Normalised host: lower case, punycode, IPv6 in brackets, no trailing dot. */
  host: string;
  /** True for `*.host`: names below `host`, not `host` itself. */
  subdomains: boolean;
  /** Only this port; undefined: any. */
  port?: number;
}

/** A parsed allowlist. */
export class HostAllowlist {
  private constructor(readonly rules: readonly HostRule[]) {}

  /**
   * Parses `HOST[,HOST…]`. Returns the allowlist, or the problems (each naming the entry and
   * what to write) without the name of the flag or variable, which the caller adds.
   */
  static parse(text: string): { allowlist: HostAllowlist } | { problems: string[] } {
    const entries = text.split(',').map((e) => e.trim());
    const problems: string[] = [];
    const rules: HostRule[] = [];
    entries.forEach((entry, i) => {
      const rule = parseEntry(entry, i + 1);
      if (typeof rule === 'string') problems.push(rule);
      else rules.push(rule);
    });
    return problems.length > 0 ? { problems } : { allowlist: new HostAllowlist(rules) };
  }

  /** Whether `url` (http or https) may be reached; false for a URL that does not parse. */
  allows(url: string): boolean {
    const target = hostOf(url);
    if (target === undefined) return false;
    return this.rules.some(
      (rule) =>
        (rule.port === undefined || rule.port === target.port) &&
        (rule.subdomains ? target.host.endsWith(`.${rule.host}`) : target.host === rule.host),
    );
  }

  /** The entries, normalised: `*.example.com,10.0.0.5:8443`. */
  toString(): string {
    return this.rules
      .map((r) => `${r.subdomains ? '*.' : ''}${r.host}${r.port === undefined ? '' : `:${r.port}`}`)
      .join(',');
  }
}

/** `host` or `host:port` of a URL as an allowlist judges it, e.g. `example.com:443`. */
export function hostOf(url: string): { host: string; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { host: parsed.hostname.replace(/\.$/, ''), port };
}

const PORT_RE = /^\d{1,5}$/;
// Letters, digits, hyphens and underscores in dot-separated labels (after punycode).
const HOST_NAME_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

function parseEntry(entry: string, position: number): HostRule | string {
  const what = `entry ${position}${entry === '' ? '' : ` ${JSON.stringify(entry)}`}`;
  if (entry === '') return `${what} is empty — write HOST[,HOST…] without a stray comma`;
  if (/[/@?#\s]/.test(entry) || entry.includes('://')) {
    return `${what} is not a host — write a host name or address, e.g. device.example.com, not a URL`;
  }
  const split = splitPort(entry);
  if (typeof split === 'string') return `${what}: ${split}`;
  let { host } = split;
  const subdomains = host.startsWith('*.');
  if (subdomains) host = host.slice(2);
  if (host.includes('*')) {
    return `${what}: a wildcard may only be the whole first label, as in *.example.com — list the hosts otherwise`;
  }
  const normalised = normaliseHost(host);
  if (normalised === undefined) return `${what} is not a valid host name or IP address`;
  if (subdomains && (isIp(normalised) || !normalised.includes('.'))) {
    return `${what}: a wildcard needs a domain of at least two labels after it, as in *.example.com`;
  }
  return { host: normalised, subdomains, ...(split.port === undefined ? {} : { port: split.port }) };
}

/** `host` and `port` of `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function splitPort(entry: string): { host: string; port?: number } | string {
  let host = entry;
  let port: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) return 'unclosed [ — write an IPv6 address as [fd00::5] or [fd00::5]:8443';
    host = entry.slice(0, close + 1);
    const rest = entry.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return 'unexpected text after ] — write [fd00::5]:8443';
      port = rest.slice(1);
    }
  } else if (entry.split(':').length === 2) {
    [host, port] = entry.split(':') as [string, string];
  } else if (entry.includes(':')) {
    host = `[${entry}]`; // a bare IPv6 address, without a port
  }
  if (port === undefined) return { host };
  const value = Number(port);
  if (!PORT_RE.test(port) || value < 1 || value > 65535) {
    return `port ${JSON.stringify(port)} must be a whole number from 1 to 65535`;
  }
  return { host, port: value };
}

/** The host as a URL normalises it (lower case, punycode, IPv4 in dotted form), or undefined. */
function normaliseHost(host: string): string | undefined {
  if (host === '' || host === '.') return undefined;
  try {
    const { hostname, port } = new URL(`http://${host}/`);
    const name = hostname.replace(/\.$/, '');
    return port === '' && (isIp(name) || HOST_NAME_RE.test(name)) ? name : undefined;
  } catch {
    return undefined;
  }
}

function isIp(host: string): boolean {
  return host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}
