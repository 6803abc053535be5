import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_MS,
  classifyError,
  classifyStatus,
  parseRetryAfter,
  retryDelayOf,
} from '../../activities/classify.js';
import { FailureType, PERMANENT_FAILURE_TYPES } from '../../shared/failure-types.js';

describe('classifyStatus', () => {
  it.each([200, 201, 202, 204, 206, 299])('treats %i as success', (status) => {
    expect(classifyStatus(status)).toBeUndefined();
  });

  it.each([
    [301, FailureType.HttpRedirect, true],
    [302, FailureType.HttpRedirect, true],
    [304, FailureType.HttpRedirect, true],
    [307, FailureType.HttpRedirect, true],
    [308, FailureType.HttpRedirect, true],
    [400, FailureType.HttpClientError, true],
    [401, FailureType.HttpClientError, true],
    [403, FailureType.HttpClientError, true],
    [404, FailureType.HttpClientError, true],
    [410, FailureType.HttpClientError, true],
    [413, FailureType.HttpClientError, true],
    [422, FailureType.HttpClientError, true],
    [408, FailureType.HttpRetryableStatus, false],
    [409, FailureType.HttpRetryableStatus, false],
    [425, FailureType.HttpRetryableStatus, false],
    [429, FailureType.HttpRateLimited, false],
    [500, FailureType.HttpServerError, false],
    [501, FailureType.HttpServerError, false],
    [502, FailureType.HttpServerError, false],
    [503, FailureType.HttpServerError, false],
    [504, FailureType.HttpServerError, false],
    [599, FailureType.HttpServerError, false],
    [101, FailureType.MalformedResponse, false],
    [600, FailureType.MalformedResponse, false],
  ] as const)('classifies %i as %s (nonRetryable %s)', (status, type, nonRetryable) => {
    const verdict = classifyStatus(status);
    expect(verdict).toMatchObject({ type, nonRetryable });
    expect(verdict?.message).toContain(`HTTP ${status}`);
  });

  it('agrees with the permanent failure list', () => {
    for (let status = 300; status < 600; status++) {
      const verdict = classifyStatus(status);
      if (verdict === undefined) continue;
      expect(verdict.nonRetryable).toBe(PERMANENT_FAILURE_TYPES.includes(verdict.type));
    }
  });

  it('names the status', () => {
    expect(classifyStatus(404)?.message).toBe('HTTP 404 Not Found');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-10-20T12:00:00Z');

  it.each([
    ['delta-seconds', '120', 120_000],
    ['zero seconds', '0', 0],
    ['padded seconds', ' 5 ', 5000],
    ['seconds above the cap', '86400', MAX_RETRY_AFTER_MS],
    ['an IMF-fixdate', 'Mon, 20 Oct 2025 12:00:30 GMT', 30_000],
    ['an RFC 850 date', 'Monday, 20-Oct-25 12:01:00 GMT', 60_000],
    ['an asctime date', 'Mon Oct 20 12:00:10 2025', 10_000],
    ['a date in the past', 'Mon, 20 Oct 2025 11:00:00 GMT', 0],
    ['a date beyond the cap', 'Tue, 21 Oct 2025 12:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['the first of several values', ['7', '9'], 7000],
  ] as const)('reads %s', (_name, value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([
    ['nothing', undefined],
    ['an empty value', ''],
    ['a negative number', '-5'],
    ['a fraction', '1.5'],
    ['words', 'soon'],
    ['an ISO date', '2025-10-20T12:00:30Z'],
    ['a bare year', '2025'.padStart(8, 'x')],
    ['an impossible date', 'Mon, 99 Foo 2025 12:00:30 GMT'],
  ] as const)('ignores %s', (_name, value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('applies only to 429 and 503', () => {
    expect(retryDelayOf(429, '3', now)).toBe(3000);
    expect(retryDelayOf(503, '3', now)).toBe(3000);
    expect(retryDelayOf(500, '3', now)).toBeUndefined();
    expect(retryDelayOf(408, '3', now)).toBeUndefined();
  });
});

describe('classifyError', () => {
  const withCode = (code: string, message = 'boom', extra: object = {}): Error =>
    Object.assign(new Error(message), { code }, extra);

  it.each([
    ['ECONNREFUSED', FailureType.ConnectionRefused, false],
    ['ECONNRESET', FailureType.ConnectionReset, false],
    ['UND_ERR_SOCKET', FailureType.ConnectionReset, false],
    ['EPIPE', FailureType.ConnectionReset, false],
    ['UND_ERR_CLOSED', FailureType.ConnectionReset, false],
    ['HPE_INVALID_CONSTANT', FailureType.MalformedResponse, false],
    ['HPE_INVALID_STATUS', FailureType.MalformedResponse, false],
    ['UND_ERR_RESPONSE', FailureType.MalformedResponse, false],
    ['UND_ERR_CONNECT_TIMEOUT', FailureType.AttemptTimeout, false],
    ['UND_ERR_HEADERS_TIMEOUT', FailureType.AttemptTimeout, false],
    ['UND_ERR_BODY_TIMEOUT', FailureType.AttemptTimeout, false],
    ['CERT_HAS_EXPIRED', FailureType.NetworkError, true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', FailureType.NetworkError, true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', FailureType.NetworkError, true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', FailureType.NetworkError, true],
    ['ENOTFOUND', FailureType.NetworkError, false],
    ['EHOSTUNREACH', FailureType.NetworkError, false],
  ] as const)('classifies %s as %s (nonRetryable %s)', (code, type, nonRetryable) => {
    expect(classifyError(withCode(code))).toMatchObject({ type, nonRetryable });
  });

  it('calls certificate errors TLS/certificate errors', () => {
    expect(classifyError(withCode('CERT_HAS_EXPIRED', 'certificate has expired')).message).toBe(
      'TLS/certificate error (CERT_HAS_EXPIRED: certificate has expired)',
    );
  });

  it('recognises an undici HTTPParserError without a code (no status line)', () => {
    const err = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Expected HTTP/)'), {
      name: 'HTTPParserError',
      code: undefined,
    });
    expect(classifyError(err)).toMatchObject({ type: FailureType.MalformedResponse, nonRetryable: false });
  });

  it('recognises a DOMException TimeoutError', () => {
    expect(
      classifyError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')).type,
    ).toBe(FailureType.AttemptTimeout);
  });

  it('follows cause chains and AggregateErrors', () => {
    const wrapped = new TypeError('fetch failed', { cause: withCode('ECONNRESET', 'read ECONNRESET') });
    expect(classifyError(wrapped)).toMatchObject({
      type: FailureType.ConnectionReset,
      message: 'connection reset (read ECONNRESET)',
    });
    const aggregate = Object.assign(
      new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]),
      {
        code: 'ECONNREFUSED',
      },
    );
    expect(classifyError(new Error('outer', { cause: aggregate })).type).toBe(FailureType.ConnectionRefused);
  });

  it('treats anything else as a retryable network error', () => {
    expect(classifyError(new Error('strange'))).toEqual({
      type: FailureType.NetworkError,
      nonRetryable: false,
      message: 'network error (strange)',
    });
    expect(classifyError('not even an error').type).toBe(FailureType.NetworkError);
  });
});
