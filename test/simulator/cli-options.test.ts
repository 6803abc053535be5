import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliOptions } from '../../simulator/cli-options.js';

describe('simulator CLI options', () => {
  it('has the documented defaults', () => {
    expect(parseCliOptions([], '/srv')).toEqual({
      devices: 1000,
      mix: undefined,
      port: 8080,
      host: '127.0.0.1',
      seed: 0,
      fleetOut: '/srv/.data/simulator-fleet.ndjson',
      format: 'ndjson',
      publicUrl: undefined,
      statusUrls: false,
      tls: undefined,
      help: false,
    });
  });

  it('reads every flag', () => {
    const args =
      '--devices 5 --mix ok=1 --port 0 --host 0.0.0.0 --seed 9 --fleet-out f.csv --format csv --status-urls' +
      ' --tls-cert c.pem --tls-key k.pem --tls-client-ca ca.pem';
    expect(parseCliOptions([...args.split(' '), '--public-url', 'http://sim:8080'], '/srv')).toEqual({
      devices: 5,
      mix: 'ok=1',
      port: 0,
      host: '0.0.0.0',
      seed: 9,
      fleetOut: '/srv/f.csv',
      format: 'csv',
      publicUrl: 'http://sim:8080',
      statusUrls: true,
      tls: { certFile: '/srv/c.pem', keyFile: '/srv/k.pem', clientCaFile: '/srv/ca.pem' },
      help: false,
    });
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'.*run with --help/],
    [['--devices', 'abc'], /--devices must be an integer from 1 to/],
    [['--devices', '0'], /--devices must be an integer from 1 to/],
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--seed', '1.5'], /--seed must be an integer/],
    [['--format', 'xml'], /--format must be ndjson, json or csv, got "xml"/],
    [['--public-url', 'sim:8080'], /--public-url must be an http\(s\) base URL/],
    [['--devices'], /--devices.*argument missing/],
  ])('rejects %j with a message naming the flag', (args, message) => {
    expect(() => parseCliOptions(args)).toThrow(message);
    expect(() => parseCliOptions(args)).toThrow(CliUsageError);
  });
});
