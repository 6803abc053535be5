import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostAllowlist } from '../../shared/host-allowlist.js';

function allowlist(text: string): HostAllowlist {
  const parsed = HostAllowlist.parse(text);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.allowlist;
}

function problems(text: string): string[] {
  const parsed = HostAllowlist.parse(text);
  return 'problems' in parsed ? parsed.problems : [];
}

describe('HostAllowlist', () => {
  it.each<[string, string, boolean]>([
    ['device.example.com', 'https://device.example.com/update', true],
    ['device.example.com', 'http://DEVICE.Example.COM:8080/update', true],
    ['device.example.com', 'https://device.example.com./update', true],
    ['device.example.com', 'https://other.example.com/update', false],
    ['device.example.com', 'https://device.example.com.evil.net/update', false],
    ['device.example.com', 'https://a.device.example.com/update', false],
    ['*.example.com', 'https://a.example.com/update', true],
    ['*.example.com', 'https://a.b.example.com/update', true],
    ['*.example.com', 'https://example.com/update', false],
    ['*.example.com', 'https://badexample.com/update', false],
    ['*.example.com', 'https://example.com.evil.net/update', false],
    ['example.com,*.example.com', 'https://example.com/update', true],
    ['10.0.0.5', 'http://10.0.0.5:8080/update', true],
    ['10.0.0.5', 'http://10.0.0.50/update', false],
    ['127.0.0.1', 'http://127.1/update', true],
    ['localhost', 'http://127.0.0.1/update', false],
    ['[fd00::5]', 'http://[fd00::5]:8080/update', true],
    ['fd00::5', 'http://[FD00:0::5]/update', true],
    ['[fd00::5]:8080', 'http://[fd00::5]:8081/update', false],
    ['device.example.com:8443', 'https://device.example.com:8443/update', true],
    ['device.example.com:8443', 'https://device.example.com/update', false],
    ['device.example.com:443', 'https://device.example.com/update', true],
    ['device.example.com:80', 'http://device.example.com/update', true],
    ['device.example.com:443', 'http://device.example.com/update', false],
    ['*.example.com:8443', 'https://a.example.com:8443/update', true],
    ['*.example.com:8443', 'https://a.example.com/update', false],
    ['bücher.example', 'https://xn--bcher-kva.example/update', true],
    [' a.example.com , b.example.com ', 'https://b.example.com/update', true],
  ])('%s allows %s: %s', (list, url, expected) => {
    expect(allowlist(list).allows(url)).toBe(expected);
  });

  it('allows nothing it cannot parse', () => {
    expect(allowlist('example.com').allows('not a url')).toBe(false);
  });

  it('prints its entries normalised', () => {
    expect(allowlist('Device.Example.com., *.EXAMPLE.net:8443, fd00::5, 127.1').toString()).toBe(
      'device.example.com,*.example.net:8443,[fd00::5],127.0.0.1',
    );
  });

  it.each<[string, RegExp]>([
    ['', /^entry 1 is empty — write HOST\[,HOST…\] without a stray comma$/],
    ['a.example.com,', /^entry 2 is empty/],
    ['https://a.example.com', /^entry 1 "https:\/\/a\.example\.com" is not a host — .*not a URL$/],
    ['a.example.com/path', /is not a host/],
    ['user@a.example.com', /is not a host/],
    ['*', /a wildcard may only be the whole first label, as in \*\.example\.com/],
    ['a.*.example.com', /a wildcard may only be the whole first label/],
    ['*.com', /a wildcard needs a domain of at least two labels/],
    ['*.10.0.0.1', /a wildcard needs a domain of at least two labels/],
    ['a.example.com:0', /port "0" must be a whole number from 1 to 65535/],
    ['a.example.com:99999', /port "99999" must be/],
    ['a.example.com:https', /port "https" must be/],
    ['[fd00::5', /unclosed \[/],
    ['bad!host.example.com', /^entry 1 "bad!host\.example\.com" is not a valid host name or IP address$/],
    ['a..example.com', /is not a valid host name or IP address/],
  ])('refuses %j, saying what to write', (text, message) => {
    const found = problems(text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('reports every bad entry at once', () => {
    expect(problems('ok.example.com,*,x:0')).toEqual([
      'entry 2 "*": a wildcard may only be the whole first label, as in *.example.com — list the hosts otherwise',
      'entry 3 "x:0": port "0" must be a whole number from 1 to 65535',
    ]);
  });

  it('never lets a wildcard allow a host outside its domain', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 0, maxLength: 3 }), label, (prefix, other) => {
        const list = allowlist('*.example.com');
        const inside = [...prefix, 'x', 'example', 'com'].join('.');
        const outside = [...prefix, `${other}example`, 'com'].join('.');
        expect(list.allows(`https://${inside}/`)).toBe(true);
        expect(list.allows(`https://${outside}/`)).toBe(false);
      }),
    );
  });
});
