import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { devicePath, generateIds, parseDevicePath, parseDeviceRoute } from '../../simulator/device-ids.js';
import { sha256FromContentDigest } from '../../simulator/digest.js';

describe('device paths', () => {
  it('parses back the id of any device path', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        expect(parseDevicePath(devicePath(id))).toBe(id);
        expect(parseDevicePath(`${devicePath(id)}?x=1`)).toBe(id);
      }),
    );
  });

  it.each([
    '/devices//update',
    '/devices/a/updates',
    '/devices/a',
    '/device/a/update',
    '/devices/a/b/update',
  ])('finds no device in %s', (path) => {
    expect(parseDevicePath(path)).toBeUndefined();
  });

  it('parses back the id and endpoint of any status path', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        expect(parseDeviceRoute(devicePath(id, 'status'))).toEqual({ id, endpoint: 'status' });
        expect(parseDeviceRoute(`${devicePath(id)}?x=1`)).toEqual({ id, endpoint: 'update' });
        expect(parseDevicePath(devicePath(id, 'status'))).toBeUndefined();
      }),
    );
  });

  it.each(['/devices//status', '/devices/a/statuses', '/devices/a/b/status', '/devices/a/'])(
    'finds no device route in %s',
    (path) => {
      expect(parseDeviceRoute(path)).toBeUndefined();
    },
  );

  it('pads generated ids to six digits', () => {
    expect(generateIds(2)).toEqual(['dev-000001', 'dev-000002']);
  });
});

describe('content-digest', () => {
  it.each([
    ['sha-256=:abc=:', 'abc='],
    ['SHA-256=:abc=:', 'abc='],
    ['sha-512=:xyz:, sha-256=:abc=:', 'abc='],
    ['sha-512=:xyz:', null],
    ['sha-256=abc', null],
    [null, null],
  ])('reads the sha-256 value of %j', (header, expected) => {
    expect(sha256FromContentDigest(header)).toBe(expected);
  });

  it('never throws on arbitrary headers', () => {
    fc.assert(fc.property(fc.string(), (header) => void sha256FromContentDigest(header)));
  });
});
