import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FleetError,
  FleetParser,
  MAX_REPORTED_PROBLEMS,
  detectFleetFormat,
  parseFleet,
  sortByPriority,
} from '../../shared/fleet-parse.js';
import type { DeviceTarget } from '../../shared/types.js';

const OK = '{"id":"ok-1","url":"http://10.0.0.1/update"}';

/** The FleetError that parsing `text` throws. */
function fleetError(text: string, file: string): FleetError {
  try {
    parseFleet(text, file);
  } catch (err) {
    if (err instanceof FleetError) return err;
    throw err;
  }
  throw new Error('expected a FleetError');
}

describe('parseFleet rejects every kind of bad line with file, line, reason and fix', () => {
  const cases: Array<{ name: string; file: string; text: string; expect: string }> = [
    {
      name: 'bad JSON',
      file: 'f.ndjson',
      text: `${OK}\n{"id": "b", url}`,
      expect: 'f.ndjson:2: not valid JSON',
    },
    {
      name: 'a JSON value that is not an object',
      file: 'f.ndjson',
      text: `${OK}\n["b"]`,
      expect: 'f.ndjson:2: expected a JSON object (got an array)',
    },
    {
      name: 'missing id',
      file: 'f.ndjson',
      text: `${OK}\n{"url":"http://x"}`,
      expect: 'f.ndjson:2: missing "id"',
    },
    {
      name: 'empty id',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"","url":"http://x"}`,
      expect: 'f.ndjson:2: "id" is empty — give every device a unique id',
    },
    {
      name: 'non-string id',
      file: 'f.ndjson',
      text: `${OK}\n{"id":7,"url":"http://x"}`,
      expect: 'f.ndjson:2: "id" must be a string (got 7)',
    },
    {
      name: 'id with a line break',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"a\\nb","url":"http://x"}`,
      expect: 'f.ndjson:2: "id" "a\\nb" must be printable ASCII',
    },
    {
      name: 'missing url',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b"}`,
      expect: 'f.ndjson:2: missing "url"',
    },
    {
      name: 'unparseable url',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"not a url"}`,
      expect: 'f.ndjson:2: "url" is not a valid URL (got "not a url") — fix the URL',
    },
    {
      name: 'non-http url',
      file: 'fleet.ndjson',
      text: `${OK}\n{"id":"b","url":"ftp://x"}`,
      expect: 'fleet.ndjson:2: "url" must be http or https (got "ftp://x") — fix the URL',
    },
    {
      name: 'url with a password',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://u:p@x/"}`,
      expect: 'f.ndjson:2: "url" must not contain a user name or password',
    },
    {
      name: 'non-http statusUrl',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusUrl":"ftp://x/status"}`,
      expect: 'f.ndjson:2: "statusUrl" must be http or https (got "ftp://x/status") — fix the URL',
    },
    {
      name: 'unparseable statusUrl',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusUrl":"/devices/b/status"}`,
      expect: 'f.ndjson:2: "statusUrl" is not a valid URL (got "/devices/b/status") — fix the URL',
    },
    {
      name: 'empty statusUrl',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusUrl":""}`,
      expect: 'f.ndjson:2: "statusUrl" is empty — give the http or https address',
    },
    {
      name: 'non-string statusUrl',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusUrl":true}`,
      expect: 'f.ndjson:2: "statusUrl" must be a string (got true)',
    },
    {
      name: 'statusUrl with a password',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusUrl":"http://u:p@x/status"}`,
      expect: 'f.ndjson:2: "statusUrl" must not contain a user name or password',
    },
    {
      name: 'statusUrl in the wrong case',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","statusurl":"http://x/status"}`,
      expect: 'f.ndjson:2: unknown field "statusurl" (did you mean "statusUrl"?)',
    },
    {
      name: 'fractional priority',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","priority":1.5}`,
      expect: 'f.ndjson:2: "priority" must be an integer (got 1.5)',
    },
    {
      name: 'string priority in JSON',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","priority":"high"}`,
      expect: 'f.ndjson:2: "priority" must be an integer (got "high")',
    },
    {
      name: 'unknown field',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","prority":1}`,
      expect: 'f.ndjson:2: unknown field "prority" (did you mean "priority"?)',
    },
    {
      name: 'empty group',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","group":""}`,
      expect: 'f.ndjson:2: "group" must be a non-empty string',
    },
    {
      name: 'literal token',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","token":"hunter2-secret"}`,
      expect: 'f.ndjson:2: "token" must be a reference env:NAME or file:PATH, not a literal secret',
    },
    {
      name: 'authorization header',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","headers":{"Authorization":"Bearer x"}}`,
      expect: 'f.ndjson:2: header "Authorization" is not allowed — use "token"',
    },
    ...['content-type', 'Content-Length', 'content-digest', 'idempotency-key', 'X-Rollout-Id', 'host'].map(
      (name) => ({
        name: `${name} header`,
        file: 'f.ndjson',
        text: `${OK}\n{"id":"b","url":"http://x","headers":{"${name}":"v"}}`,
        expect: `f.ndjson:2: header "${name}" is set by the engine — remove it`,
      }),
    ),
    {
      name: 'non-string header value',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","headers":{"x-a":1}}`,
      expect: 'f.ndjson:2: header "x-a" must be a string (got 1)',
    },
    {
      name: 'headers that are not an object',
      file: 'f.ndjson',
      text: `${OK}\n{"id":"b","url":"http://x","headers":["x-a"]}`,
      expect: 'f.ndjson:2: "headers" must be an object',
    },
    {
      name: 'duplicate id',
      file: 'f.ndjson',
      text: `${OK}\n\n${OK}`,
      expect: 'f.ndjson:3: duplicate id "ok-1" (first on line 1)',
    },
    { name: 'empty file', file: 'f.ndjson', text: '', expect: 'f.ndjson:1: no devices' },
    { name: 'blank file', file: 'f.ndjson', text: '\n  \n\n', expect: 'f.ndjson:1: no devices' },
    { name: 'empty JSON array', file: 'f.json', text: '\n[ ]\n', expect: 'f.json:2: no devices' },
    {
      name: 'JSON array element on its own line',
      file: 'f.json',
      text: `[\n  ${OK},\n\n  {"id":"b","url":"ftp://y"}\n]`,
      expect: 'f.json:4: "url" must be http or https',
    },
    {
      name: 'JSON array with a non-object element',
      file: 'f.json',
      text: `[\n  ${OK},\n  "b"\n]`,
      expect: 'f.json:3: expected a JSON object (got string)',
    },
    {
      name: 'JSON array syntax error',
      file: 'f.json',
      text: `[\n  ${OK},\n  {"id": "b" "url": "http://x"}\n]`,
      expect: 'f.json:3: not valid JSON',
    },
    { name: 'CSV header only', file: 'f.csv', text: 'id,url\n', expect: 'f.csv:1: no devices' },
    {
      name: 'CSV missing column',
      file: 'f.csv',
      text: 'id,priority\na,1\n',
      expect: 'f.csv:1: missing column "url" — the header line must name at least id and url',
    },
    {
      name: 'CSV unknown column',
      file: 'f.csv',
      text: 'id,url,prio\na,http://x,1\n',
      expect: 'f.csv:1: unknown column "prio" (did you mean "priority"?)',
    },
    {
      name: 'CSV headers column (JSON formats only)',
      file: 'f.csv',
      text: 'id,url,headers\na,http://x,\n',
      expect: 'f.csv:1: unknown column "headers"',
    },
    {
      name: 'CSV duplicate column',
      file: 'f.csv',
      text: 'id,url,id\na,http://x,b\n',
      expect: 'f.csv:1: column "id" appears twice',
    },
    {
      name: 'CSV wrong column count (an unquoted comma)',
      file: 'f.csv',
      text: 'id,url,group\na,http://x,eu,west\n',
      expect: 'f.csv:2: expected 3 fields (id,url,group), got 4 — quote fields that contain commas',
    },
    {
      name: 'CSV too few fields',
      file: 'f.csv',
      text: 'id,url,group\na,http://x\n',
      expect: 'f.csv:2: expected 3 fields (id,url,group), got 2',
    },
    {
      name: 'CSV unterminated quote',
      file: 'f.csv',
      text: 'id,url\n"a,http://x\n',
      expect: 'f.csv:2: unterminated quoted field',
    },
    {
      name: 'CSV text after a closing quote',
      file: 'f.csv',
      text: 'id,url\n"a"b,http://x\n',
      expect: 'f.csv:2: unexpected text after a closing quote',
    },
    {
      name: 'CSV non-integer priority',
      file: 'f.csv',
      text: 'id,url,priority\na,http://x,1.5\n',
      expect: 'f.csv:2: "priority" must be an integer (got "1.5")',
    },
    {
      name: 'CSV empty id',
      file: 'f.csv',
      text: 'id,url\n,http://x\n',
      expect: 'f.csv:2: "id" is empty',
    },
    {
      name: 'CSV literal token',
      file: 'f.csv',
      text: 'id,url,token\na,http://x,Bearer abc\n',
      expect: 'f.csv:2: "token" must be a reference env:NAME or file:PATH',
    },
    {
      name: 'CSV non-http statusUrl',
      file: 'f.csv',
      text: 'id,url,statusUrl\na,http://x,ftp://x/status\n',
      expect: 'f.csv:2: "statusUrl" must be http or https (got "ftp://x/status")',
    },
    {
      name: 'CSV statusUrl column twice, in two spellings',
      file: 'f.csv',
      text: 'id,url,statusUrl,STATUSURL\na,http://x,,\n',
      expect: 'f.csv:1: column "statusUrl" appears twice',
    },
    {
      name: 'CSV duplicate id',
      file: 'fleet.csv',
      text:
        'id,url\n' +
        Array.from({ length: 7 }, (_, i) => `dev-${i + 6},http://x/${i}\n`).join('') +
        'dev-7,http://y\n',
      expect: 'fleet.csv:9: duplicate id "dev-7" (first on line 3)',
    },
  ];

  it.each(cases)('reports $name', ({ file, text, expect: expected }) => {
    const err = fleetError(text, file);
    expect(err.code).toBe('ERR_FLEET_INVALID');
    expect(err.file).toBe(file);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(expected);
    expect(err.problems[0]).toMatch(/^\S+:\d+: .+ — .+/);
    expect(err.message).toContain(expected);
    expect(err.line).toBe(Number(/:(\d+):/.exec(expected)?.[1]));
  });

  it('never echoes a literal token', () => {
    const err = fleetError(`{"id":"a","url":"http://x","token":"hunter2-secret"}`, 'f.ndjson');
    expect(err.message).not.toContain('hunter2');
  });

  it('lists every problem of a line and of the file, up to 20, and counts the rest', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `{"id":"d${i}","url":"ftp://x"}`);
    const err = fleetError(['{"url":7,"priority":"x"}', ...lines].join('\n'), 'f.ndjson');
    expect(err.problemCount).toBe(33);
    expect(err.problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(err.problems.slice(0, 3).every((p) => p.startsWith('f.ndjson:1: '))).toBe(true);
    expect(err.message).toContain('33 problems, first 20 shown');
  });
});

describe('parseFleet accepts valid fleets', () => {
  it('reads quoted CSV fields with commas and quotes, CRLF and a BOM', () => {
    const text =
      '\uFEFFid, url ,priority,group,token\r\n"a,1",http://x/a,2,"eu, ""west""",env:TOKEN_A\r\nb,https://y/b,,,\r\n';
    expect(parseFleet(text, 'f.csv')).toEqual([
      { id: 'a,1', url: 'http://x/a', priority: 2, group: 'eu, "west"', token: 'env:TOKEN_A' },
      { id: 'b', url: 'https://y/b', priority: 0 },
    ]);
  });

  it('reads NDJSON with blank lines, headers and file tokens', () => {
    const text = `\n{"id":"a","url":"http://x","headers":{"x-site":"eu-1"},"token":"file:/run/secrets/a"}\n\n${OK}\n`;
    expect(parseFleet(text, 'f.ndjson')).toEqual([
      { id: 'a', url: 'http://x', priority: 0, headers: { 'x-site': 'eu-1' }, token: 'file:/run/secrets/a' },
      { id: 'ok-1', url: 'http://10.0.0.1/update', priority: 0 },
    ]);
  });

  it('carries an optional statusUrl from NDJSON and from a CSV column in any case', () => {
    const ndjson = `{"id":"a","url":"http://x/a","statusUrl":"https://x/a/status"}\n${OK}\n`;
    expect(parseFleet(ndjson, 'f.ndjson')).toEqual([
      { id: 'a', url: 'http://x/a', priority: 0, statusUrl: 'https://x/a/status' },
      { id: 'ok-1', url: 'http://10.0.0.1/update', priority: 0 },
    ]);
    for (const column of ['statusUrl', 'statusurl', 'StatusURL']) {
      const csv = `id,url,${column}\na,http://x/a,http://x/a/status\nb,http://x/b,\n`;
      expect(parseFleet(csv, 'f.csv')).toEqual([
        { id: 'a', url: 'http://x/a', priority: 0, statusUrl: 'http://x/a/status' },
        { id: 'b', url: 'http://x/b', priority: 0 },
      ]);
    }
  });

  it('detects the format from the first non-space character', () => {
    expect(detectFleetFormat('  \n [')).toBe('json');
    expect(detectFleetFormat('\n{')).toBe('ndjson');
    expect(detectFleetFormat('id,url')).toBe('csv');
  });
});

// --- properties ---------------------------------------------------------------------------

const deviceArb: fc.Arbitrary<DeviceTarget> = fc.record(
  {
    id: fc.stringMatching(/^[A-Za-z0-9][\w.:@-]{0,15}$/),
    url: fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true }),
    priority: fc.integer({ min: -3, max: 3 }),
    group: fc.string({ minLength: 1, maxLength: 12 }).filter((g) => !/[\r\n]/.test(g)),
    token: fc.oneof(
      fc.stringMatching(/^env:[A-Z_][A-Z0-9_]{0,10}$/),
      fc.stringMatching(/^file:\/[\w./-]{1,20}$/),
    ),
    statusUrl: fc.webUrl({ validSchemes: ['http', 'https'] }),
    headers: fc.dictionary(
      fc.stringMatching(/^x-[a-z0-9-]{1,10}$/),
      fc.stringMatching(/^[\x21-\x7e][ -~]{0,10}$/),
      {
        maxKeys: 3,
      },
    ),
  },
  { requiredKeys: ['id', 'url', 'priority'] },
);

const fleetArb = (withHeaders: boolean): fc.Arbitrary<DeviceTarget[]> =>
  fc
    .uniqueArray(deviceArb, { minLength: 1, maxLength: 25, selector: (d) => d.id })
    .map((devices) => (withHeaders ? devices : devices.map(({ headers: _h, ...rest }) => rest)));

const csvCell = (value: string | number | undefined): string =>
  value === undefined ? '' : `"${String(value).replace(/"/g, '""')}"`;

const serialize = {
  ndjson: (devices: DeviceTarget[]) => devices.map((d) => JSON.stringify(d)).join('\n\n') + '\n',
  json: (devices: DeviceTarget[]) => JSON.stringify(devices, null, 2),
  csv: (devices: DeviceTarget[]) =>
    [
      'id,url,priority,group,token,statusUrl',
      ...devices.map((d) => [d.id, d.url, d.priority, d.group, d.token, d.statusUrl].map(csvCell).join(',')),
    ].join('\r\n'),
};

describe('parseFleet round-trips any valid fleet', () => {
  it.each([
    ['ndjson', true],
    ['json', true],
    ['csv', false],
  ] as const)('in %s', (format, withHeaders) => {
    fc.assert(
      fc.property(fleetArb(withHeaders), (devices) => {
        expect(parseFleet(serialize[format](devices), `fleet.${format}`)).toEqual(devices);
      }),
      { numRuns: 200 },
    );
  });

  it('gives each JSON array element the line it starts on', () => {
    fc.assert(
      fc.property(fleetArb(true), fc.nat({ max: 4 }), (devices, bad) => {
        const index = bad % devices.length;
        const broken = devices.map((d, i) => (i === index ? { ...d, url: 'ftp://nope' } : d));
        const text = serialize.json(broken);
        const line = text.split('\n').findIndex((l) => l.includes('"ftp://nope"')) + 1;
        const err = fleetError(text, 'f.json');
        // The element starts a few lines above its url: find its opening brace.
        const lines = text.split('\n').slice(0, line);
        const start = lines.map((l) => l.trimEnd()).lastIndexOf('  {') + 1;
        expect(err.problems[0]).toContain(`f.json:${start}: "url" must be http or https`);
      }),
      { numRuns: 100 },
    );
  });
});

describe('sortByPriority', () => {
  it('orders higher priority first and keeps file order among equals', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined })), (priorities) => {
        const items = priorities.map((priority, index) => ({ priority, index }));
        const sorted = sortByPriority(items);
        expect(sorted).toHaveLength(items.length);
        expect(new Set(sorted)).toEqual(new Set(items));
        for (let i = 1; i < sorted.length; i++) {
          const a = sorted[i - 1]!;
          const b = sorted[i]!;
          const pa = a.priority ?? 0;
          const pb = b.priority ?? 0;
          expect(pa > pb || (pa === pb && a.index < b.index)).toBe(true);
        }
      }),
    );
  });

  it('does not change its input', () => {
    const input = [{ priority: 1 }, { priority: 2 }];
    sortByPriority(input);
    expect(input).toEqual([{ priority: 1 }, { priority: 2 }]);
  });
});

describe('FleetParser with a device check of the caller', () => {
  const noExample = (device: DeviceTarget, problems: string[]): void => {
    if (device.url.includes('example')) problems.push(`no example hosts (${device.id}) — use a real one`);
  };

  it.each([
    ['NDJSON', 'f.ndjson', `${OK}\n{"id":"x","url":"http://example.org/u"}\n`, 2],
    ['CSV', 'f.csv', 'id,url\nok-1,http://10.0.0.1/update\nx,http://example.org/u\n', 3],
    ['a JSON array', 'f.json', `[\n${OK},\n  {"id":"x",\n   "url":"http://example.org/u"}\n]\n`, 3],
  ])(
    'reports its problems at the device line in %s, and keeps nothing of a refused device',
    (_f, file, text, line) => {
      const parser = new FleetParser(file, { checkDevice: noExample });
      for (const l of text.split('\n')) parser.line(l);
      expect(() => parser.finish()).toThrow(`${file}:${line}: no example hosts (x) — use a real one`);
    },
  );

  it('is not asked about records that are invalid already', () => {
    const seen: string[] = [];
    const parser = new FleetParser('f.ndjson', { checkDevice: (d) => seen.push(d.id) });
    parser.line(OK);
    parser.line('{"id":"bad","url":"ftp://x"}');
    expect(() => parser.finish()).toThrow(FleetError);
    expect(seen).toEqual(['ok-1']);
  });
});
