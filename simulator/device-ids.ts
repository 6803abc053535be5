const prefix = '/devices/';
const suffix = '/update';

/** Generated ids: `dev-000001` … (1-based, zero-padded to `width` digits). */
export function generateIds(count: number, width = 6): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i += 1) ids[i] = `dev-${String(i + 1).padStart(width, '0')}`;
  return ids;
}

/** Path of a device's update endpoint. */
export function devicePath(id: string): string {
  return `${prefix}${encodeURIComponent(id)}${suffix}`;
}

/** The device id in `/devices/<id>/update[?…]`, or undefined for any other path. */
export function parseDevicePath(url: string): string | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const slash = url.indexOf('/', prefix.length);
  if (slash <= prefix.length) return undefined;
  const end = slash + suffix.length;
  if (!url.startsWith(suffix, slash) || (url.length > end && url[end] !== '?')) return undefined;
  const raw = url.slice(prefix.length, slash);
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
