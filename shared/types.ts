/**
 * Data that crosses between the client, workflows and activities. Plain JSON only: these
 * travel inside Temporal payloads, so each stays small (never a fleet-sized list).
 */

/** One device, as frozen from the fleet file. */
export interface DeviceTarget {
  /** Unique within the fleet. */
  id: string;
  /** http or https address the artifact is POSTed to. */
  url: string;
  /** Higher goes first; ties keep file order. */
  priority: number;
  group?: string;
  /**
   * A reference to the device's bearer token (`env:NAME` or `file:PATH`), resolved by the push
   * activity on the worker so the secret itself never enters workflow history.
   */
  token?: string;
  /** Extra request headers (not secrets: they are stored in history). */
  headers?: Record<string, string>;
  /** Where the device reports the version it runs (verified completion); overrides `--verify`. */
  statusUrl?: string;
}

/**
 * Verified completion: after a 2xx the push polls the device's status URL until it reports the
 * artifact's digest, or fails `VerifyTimeout` once `timeoutMs` has passed.
 */
export interface VerifySpec {
  /** Status URL template, `{id}` = the URL-encoded device id; a device's `statusUrl` wins. */
  urlTemplate?: string;
  timeoutMs: number;
  /** Delay between two polls. */
  intervalMs: number;
}

/** The fleet file as the client validated it. */
export interface FleetSource {
  /** Absolute path, readable by the workers. */
  path: string;
  /** SHA-256 (hex) of the file's bytes at validation: freezing refuses a file edited since. */
  sha256: string;
}

/** The fleet frozen by `freezeFleet`: a sorted copy read back in slices by `loadDevices`. */
export interface FrozenFleet {
  /** Path of the frozen NDJSON copy (an offsets index sits beside it). */
  path: string;
  /** Devices in the fleet. */
  count: number;
  /** SHA-256 (hex) of the frozen copy. */
  sha256: string;
  /**
   * Distinct priorities among the devices. Absent in rollouts frozen before it was recorded,
   * which are treated as one priority (as they were).
   */
  priorityLevels?: number;
}

/** The artifact every device receives. */
export interface ArtifactRef {
  /** Absolute path, readable by the workers; streamed for each push. */
  path: string;
  /** SHA-256 of the bytes, base64 (the form `content-digest` carries). */
  sha256: string;
  /** Bytes. */
  size: number;
}

/** Input of one push activity (one device, one attempt per activity attempt). */
export interface PushInput {
  rolloutId: string;
  device: DeviceTarget;
  artifact: ArtifactRef;
  /** Connect + headers + body of one attempt, in ms. */
  attemptTimeoutMs: number;
  /**
   * Attempts already made elsewhere (the fast path's first attempt), added to Temporal's
   * attempt number in results and failure details.
   */
  attemptOffset?: number;
  /** Verify the device runs the artifact after it accepted it (absent: a 2xx is success). */
  verify?: VerifySpec;
  /**
   * Rate limit: do not send before this time (epoch ms). The workflow hands out start slots a
   * little ahead and the activity waits for its slot, so devices are reached at the paced times
   * whatever the latency of dispatching activities.
   */
  notBefore?: number;
}

/** A successful push. */
export interface PushResult {
  /** HTTP status the device answered (2xx). */
  status: number;
  /** Which attempt succeeded (1 = first). */
  attempt: number;
  /** Bytes of artifact sent. */
  bytes: number;
  /** Wall time of the successful attempt, in ms. */
  durationMs: number;
}

/** Details an activity attaches to a push failure, for reports. */
export interface PushFailureDetails {
  attempt: number;
  /** HTTP status, when the device answered one. */
  status?: number;
}
