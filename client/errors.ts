/**
 * How the CLI ends: exit codes (a contract scripts rely on) and the one error type commands
 * throw to end with a message.
 */

/** Process exit codes of `rollout`, per DESIGN.md. */
export const ExitCode = {
  /** The command worked; with `--wait`/`--follow`, the rollout completed. */
  Ok: 0,
  /** Any error: bad input, unreachable Temporal, unknown rollout, a workflow that failed. */
  Error: 1,
  /** The rollout was halted by its circuit breaker (or a fatal failure). */
  Halted: 2,
  /** The rollout was cancelled. */
  Cancelled: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliErrorOptions {
  exitCode?: ExitCode;
  /** Print the message as it is, without the `rollout <command>: ` prefix (e.g. a multi-line fleet report). */
  asIs?: boolean;
}

/**
 * An error the CLI reports as is, without a stack trace: each line is printed on stderr,
 * prefixed with the command (`rollout start: --batch-size: ...`) unless `asIs`.
 */
export class CliError extends Error {
  readonly code = 'ERR_ROLLOUT_CLI';
  override readonly name = 'CliError';
  readonly lines: readonly string[];
  readonly exitCode: ExitCode;
  readonly asIs: boolean;

  constructor(lines: string | readonly string[], options: CliErrorOptions = {}) {
    const all = typeof lines === 'string' ? [lines] : lines;
    super(all.join('\n'));
    this.lines = all;
    this.exitCode = options.exitCode ?? ExitCode.Error;
    this.asIs = options.asIs ?? false;
  }
}

/** The namespace in TEMPORAL_NAMESPACE does not exist on the server. */
export function namespaceNotFound(namespace: string): CliError {
  return new CliError(
    `namespace "${namespace}" not found (TEMPORAL_NAMESPACE) — create it ` +
      `(\`temporal operator namespace create ${namespace}\`) or set TEMPORAL_NAMESPACE`,
  );
}
