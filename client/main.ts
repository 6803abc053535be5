/**
 * `rollout`, the operator CLI (`npm run --silent rollout -- <command> [arguments]`): dispatches
 * to a command and turns its outcome into an exit code — 0 ok / completed, 2 halted, 3
 * cancelled, 1 any other error. Errors are one clear line on stderr; `ROLLOUT_DEBUG=1` adds
 * the stack.
 */
import {
  NamespaceNotFoundError,
  ServiceError,
  WorkflowNotFoundError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ConfigError } from '../shared/env.js';
import { cancel } from './commands/cancel.js';
import { approve, pause, promote, resume } from './commands/control.js';
import { list } from './commands/list.js';
import { results } from './commands/results.js';
import { set } from './commands/set.js';
import { start } from './commands/start.js';
import { status } from './commands/status.js';
import type { Command } from './context.js';
import { createContext } from './context.js';
import { CliError, ExitCode, namespaceNotFound } from './errors.js';
import { usage } from './usage.js';

const COMMANDS: Readonly<Record<string, Command>> = {
  start,
  status,
  cancel,
  pause,
  resume,
  approve,
  promote,
  set,
  list,
  results,
};

/** Runs one command line; resolves to the exit code. */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(`${usage()}\n`);
    return ExitCode.Error;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${usage(rest[0])}\n`);
    return ExitCode.Ok;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`${usage()}\n\nrollout: unknown command ${JSON.stringify(command)}\n`);
    return ExitCode.Error;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${usage(command)}\n`);
    return ExitCode.Ok;
  }
  const context = createContext(env);
  try {
    return await run(rest, context);
  } catch (err) {
    return reportError(command, err, () => context.config(), env['ROLLOUT_DEBUG'] === '1');
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** `--help` or `-h` before any `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

function reportError(
  command: string,
  err: unknown,
  config: () => { temporal: { address: string; namespace: string } },
  debug: boolean,
): ExitCode {
  const prefix = `rollout ${command}: `;
  let lines: readonly string[];
  let exitCode: ExitCode = ExitCode.Error;
  if (err instanceof CliError) {
    lines = err.asIs ? [err.message] : err.lines.map((l) => prefix + l);
    exitCode = err.exitCode;
  } else if (err instanceof ConfigError) {
    lines = err.problems.map((p) => prefix + p);
  } else {
    lines = [prefix + describeUnexpected(err, config, debug)];
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCode;
}

/** One line for an error no command anticipated: Temporal's own errors, named by what to check. */
function describeUnexpected(
  err: unknown,
  config: () => { temporal: { address: string; namespace: string } },
  debug: boolean,
): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NamespaceNotFoundError) return namespaceNotFound(err.namespace).message;
  if (err instanceof WorkflowNotFoundError) return message;
  if (err instanceof ServiceError || isGrpcServiceError(err)) {
    const { address } = config().temporal;
    const cause = err instanceof ServiceError && err.cause ? `: ${err.cause.message}` : '';
    return `Temporal at ${address} (TEMPORAL_ADDRESS) refused the request: ${message}${cause}`;
  }
  return `${message}${debug ? '' : ' (ROLLOUT_DEBUG=1 shows the stack)'}`;
}

/** Exits once stdout has flushed (a pipe may still hold the last report line). */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // The reader went away (`rollout results ID | head`): nothing more to say.
  if (err.code === 'EPIPE') process.exit(ExitCode.Ok);
});

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  process.stderr.write(`rollout: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exit(ExitCode.Error);
});
