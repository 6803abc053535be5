const prefix = '/devices/';

/** A device's endpoints: `update` takes the artifact (POST), `status` reports the version it runs (GET). */
export type DeviceEndpoint = 'update' | 'status';

/** A request path resolved to a device and one of its endpoints. */
export interface DeviceRoute {
  id: string;
  endpoint: DeviceEndpoint;
}

/** Generated ids: `dev-000001` … (1-based, zero-padded to `width` digits). */
export function generateIds(count: number, width = 6): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i += 1) ids[i] = `dev-${String(i + 1).padStart(width, '0')}`;
  return ids;
}

/** Path of one of a device's endpoints (its update endpoint by default). */
export function devicePath(id: string, endpoint: DeviceEndpoint = 'update'): string {
  return `${prefix}${encodeURIComponent(id)}/${endpoint}`;
}

/** The device and endpoint of `/devices/<id>/update|status[?…]`, or undefined for any other path. */
export function parseDeviceRoute(url: string): DeviceRoute | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const slash = url.indexOf('/', prefix.length);
  if (slash <= prefix.length) return undefined;
  const query = url.indexOf('?', slash);
  const endpoint = url.slice(slash + 1, query === -1 ? url.length : query);
  if (endpoint !== 'update' && endpoint !== 'status') return undefined;
  const raw = url.slice(prefix.length, slash);
  if (!raw.includes('%')) return { id: raw, endpoint };
  try {
    return { id: decodeURIComponent(raw), endpoint };
  } catch {
    return undefined;
  }
}

/** The device id in `/devices/<id>/update[?…]`, or undefined for any other path. */
export function parseDevicePath(url: string): string | undefined {
  const route = parseDeviceRoute(url);
  return route?.endpoint === 'update' ? route.id : undefined;
}
