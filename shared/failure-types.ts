/**
 * Failure types of a device push. Retry policies and the breaker match on these strings, and
 * reports and `rollout results` print them, so renaming one is a breaking change.
 */
export const FailureType = {
  /** 3xx: redirects are never followed (a device must not send the update elsewhere). Permanent. */
  HttpRedirect: 'HttpRedirect',
  /** 4xx other than 408, 409, 425, 429: the request itself is wrong for this device. Permanent. */
  HttpClientError: 'HttpClientError',
  /** 408, 409 (duplicate still being processed), 425: the device asks to try again. Retried. */
  HttpRetryableStatus: 'HttpRetryableStatus',
  /** 429: the device is throttling us; `Retry-After` sets the next delay. Retried. */
  HttpRateLimited: 'HttpRateLimited',
  /** 5xx: the device failed; `Retry-After` on 503 sets the next delay. Retried. */
  HttpServerError: 'HttpServerError',
  /** The attempt did not finish within the attempt timeout (connect + headers + body). Retried. */
  AttemptTimeout: 'AttemptTimeout',
  /** Nothing listens at the device's address. Retried. */
  ConnectionRefused: 'ConnectionRefused',
  /** The device reset or closed the connection before a complete answer. Retried. */
  ConnectionReset: 'ConnectionReset',
  /** The device answered something that is not HTTP. Retried, never counted as success. */
  MalformedResponse: 'MalformedResponse',
  /**
   * Any other network error (DNS, unreachable host). Retried — except TLS errors that are not
   * about certificates (no shared protocol version or cipher, plain HTTP on an https URL), which
   * no retry can fix.
   */
  NetworkError: 'NetworkError',
  /**
   * TLS certificate trouble, on either side: the device's certificate is not signed by a CA the
   * worker trusts (PUSH_CA_FILE), does not name the URL's host, has expired or is not yet valid;
   * or the device refused the worker's client certificate, or asked for one the worker does not
   * have (PUSH_CLIENT_CERT_FILE/PUSH_CLIENT_KEY_FILE). Permanent: only a configuration change helps.
   */
  TlsCertificateError: 'TlsCertificateError',
  /**
   * The device's URL (or status URL) names a host outside the worker's PUSH_ALLOW_HOSTS; nothing
   * was sent. Permanent.
   */
  HostNotAllowed: 'HostNotAllowed',
  /** The artifact's bytes no longer match the digest frozen at start. Permanent; halts the rollout. */
  ArtifactChanged: 'ArtifactChanged',
  /** The artifact file cannot be read by the worker. Permanent; halts the rollout. */
  ArtifactUnreadable: 'ArtifactUnreadable',
  /** The fleet file is invalid or changed between validation and freezing. Permanent. */
  InvalidFleet: 'InvalidFleet',
  /** A device's credential reference cannot be resolved on the worker. Permanent. */
  CredentialUnavailable: 'CredentialUnavailable',
  /** Temporal gave up on the device (overall device budget, heartbeat timeout). */
  DeviceTimeout: 'DeviceTimeout',
  /**
   * Verified completion: the device accepted the push but did not report the artifact's digest
   * on its status URL before the verify timeout. Permanent (the push itself succeeded).
   */
  VerifyTimeout: 'VerifyTimeout',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types that no retry can fix; the push activity also marks them `nonRetryable`. */
export const PERMANENT_FAILURE_TYPES: readonly FailureType[] = [
  FailureType.HttpRedirect,
  FailureType.HttpClientError,
  FailureType.ArtifactChanged,
  FailureType.ArtifactUnreadable,
  FailureType.InvalidFleet,
  FailureType.CredentialUnavailable,
  FailureType.VerifyTimeout,
  FailureType.TlsCertificateError,
  FailureType.HostNotAllowed,
];

/** Failure types that mean the rollout itself is broken, not one device: the rollout stops. */
export const ROLLOUT_FATAL_FAILURE_TYPES: readonly FailureType[] = [
  FailureType.ArtifactChanged,
  FailureType.ArtifactUnreadable,
];
