import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_MS,
  classifyError,
  opensslReason,
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
    ['CERT_HAS_EXPIRED', FailureType.TlsCertificateError, true],
    ['CERT_NOT_YET_VALID', FailureType.TlsCertificateError, true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', FailureType.TlsCertificateError, true],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', FailureType.TlsCertificateError, true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', FailureType.TlsCertificateError, true],
    ['SELF_SIGNED_CERT_IN_CHAIN', FailureType.TlsCertificateError, true],
    ['CERT_REVOKED', FailureType.TlsCertificateError, true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', FailureType.TlsCertificateError, true],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', FailureType.TlsCertificateError, true],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', FailureType.TlsCertificateError, true],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', FailureType.TlsCertificateError, true],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', FailureType.TlsCertificateError, true],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', FailureType.TlsCertificateError, true],
    ['ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', FailureType.TlsCertificateError, true],
    ['ERR_SSL_WRONG_VERSION_NUMBER', FailureType.NetworkError, true],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', FailureType.NetworkError, true],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', FailureType.AttemptTimeout, false],
    ['ENOTFOUND', FailureType.NetworkError, false],
    ['EHOSTUNREACH', FailureType.NetworkError, false],
  ] as const)('classifies %s as %s (nonRetryable %s)', (code, type, nonRetryable) => {
    expect(classifyError(withCode(code))).toMatchObject({ type, nonRetryable });
  });

  it('agrees with the permanent failure list for certificate errors', () => {
    const verdict = classifyError(withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'));
    expect(PERMANENT_FAILURE_TYPES).toContain(verdict.type);
    expect(verdict.nonRetryable).toBe(true);
  });

  it.each([
    [
      'CERT_HAS_EXPIRED',
      'certificate has expired',
      "TLS certificate error: the device's certificate has expired or is not valid yet — renew it (or fix the worker's clock) (CERT_HAS_EXPIRED: certificate has expired)",
    ],
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'unable to verify the first certificate',
      "TLS certificate error: the device's certificate is not signed by a CA the worker trusts — add that CA to PUSH_CA_FILE (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate)",
    ],
    [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ",
      "TLS certificate error: the device's certificate does not name the host of its URL — use a host it names in the fleet file, or reissue it (ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list:)",
    ],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      '80EC30EB407F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 116\n',
      'TLS certificate error: the device requires a client certificate and the worker has none — set PUSH_CLIENT_CERT_FILE and PUSH_CLIENT_KEY_FILE (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)',
    ],
    [
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      '80EC:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1605:SSL alert number 48\n',
      "TLS certificate error: the device refused the worker's client certificate — give the workers one it trusts (PUSH_CLIENT_CERT_FILE, PUSH_CLIENT_KEY_FILE) (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)",
    ],
  ])('says what %s means and what fixes it, the fix first', (code, message, expected) => {
    expect(classifyError(withCode(code, message)).message).toBe(expected);
  });

  it('names other TLS errors without the OpenSSL noise', () => {
    const err = withCode(
      'ERR_SSL_WRONG_VERSION_NUMBER',
      '40F8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:354:\n',
    );
    expect(classifyError(err).message).toBe('TLS error (ERR_SSL_WRONG_VERSION_NUMBER: wrong version number)');
  });

  it('reads the reason out of an OpenSSL error line', () => {
    expect(
      opensslReason(
        '80EC:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../x.c:1605:SSL alert number 116\n',
      ),
    ).toBe('tlsv13 alert certificate required (SSL alert number 116)');
    expect(opensslReason(' plain message ')).toBe('plain message');
  });

  it('finds a certificate error behind a connect error', () => {
    const cause = withCode('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate');
    const err = withCode('UND_ERR_SOCKET', 'other side closed', { cause });
    expect(classifyError(err)).toMatchObject({ type: FailureType.TlsCertificateError, nonRetryable: true });
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
