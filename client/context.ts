/**
 * What a command gets from `main`: the configuration and a connection, both made on first
 * use, so a command checks its own input before it reads the environment or dials Temporal.
 */
import type { ClientConfig, Temporal } from './config.js';
import { connect, loadClientConfig } from './config.js';
import type { ExitCode } from './errors.js';

export interface CommandContext {
  /** The client configuration (read and validated once; throws `ConfigError`). */
  config(): Readonly<ClientConfig>;
  /** A connected client (connects once; throws `CliError` naming TEMPORAL_ADDRESS). */
  temporal(): Promise<Temporal>;
}

/** A command: its arguments (after the command name) in, an exit code out. */
export type Command = (argv: readonly string[], context: CommandContext) => Promise<ExitCode>;

/** A context over `env`, and `close()` to release the connection when the command is done. */
export function createContext(env: NodeJS.ProcessEnv): CommandContext & { close(): Promise<void> } {
  let config: Readonly<ClientConfig> | undefined;
  let temporal: Promise<Temporal> | undefined;
  const context = {
    config: () => (config ??= loadClientConfig(env)),
    temporal: () => (temporal ??= connect(context.config())),
    close: async (): Promise<void> => {
      const connected = await temporal?.catch(() => undefined);
      await connected?.connection.close();
    },
  };
  return context;
}
