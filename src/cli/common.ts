/**
 * What every LoadTest command shares: exit codes, the errors that become one line on stderr, the Temporal
 * connection options, and the wrapper that turns an action's outcome into the process exit code.
 * Kept free of heavy imports: every process that runs the CLI (runner pods too) loads it; commands load
 * clients inside their actions.
 */
import { CommanderError, Option, type Command } from 'commander';
import { loadConfig } from '../config.js';

/** Exit codes of run, watch, status, list and cancel; CI gates on them. */
export const EXIT = {
  /** The load test finished (every threshold held), or the command did what was asked. */
  ok: 0,
  /** The load test failed, or a threshold was breached. */
  failed: 1,
  /**
   * Bad input: a missing or invalid file, a spec the CRD would reject, bad flags, an unknown LoadTest, a
   * kubeconfig or --context that does not exist, Temporal TLS settings that cannot be used (a missing certificate).
   */
  usage: 2,
  /**
   * Temporal or Kubernetes could not be reached or did not answer in time, or refused the credentials (TLS
   * handshake, API key): nothing was judged.
   */
  unavailable: 3,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
} as const;

/** An error the user can act on, printed as one line and mapped to an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
export const unavailableError = (message: string) => new CliError(message, EXIT.unavailable);

/** --kubeconfig and --context, as kubectl takes them. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

export interface TemporalFlags extends KubeFlags {
  temporalAddress?: string;
  temporalNamespace?: string;
  namespace?: string;
  verbose?: boolean;
}

/**
 * -n, --kubeconfig, --context, --temporal-address, --temporal-namespace, -v: the options of every command that
 * talks to Kubernetes or Temporal.
 */
export function addCommonOptions(command: Command): Command {
  return command
    .option(
      '-n, --namespace <namespace>',
      "Kubernetes namespace of the LoadTest (default: the kubeconfig context's namespace, else default)",
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .addOption(
      new Option(
        '--temporal-address <host:port>',
        'Temporal frontend (default: TEMPORAL_ADDRESS, else 127.0.0.1:7233)',
      ),
    )
    .addOption(
      new Option('--temporal-namespace <namespace>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)'),
    )
    .option('-v, --verbose', 'show logs and stack traces')
    .exitOverride((error) => {
      // Commander exits with 1 on bad flags; 1 means "the load test failed" here.
      throw new CommanderError(error.exitCode === 0 ? 0 : EXIT.usage, error.code, error.message);
    });
}

/** Runs a command's action: its return value becomes the exit code; errors become one line (then a stack with -v). */
export function action<A extends unknown[]>(run: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const flags = args.find((arg): arg is { verbose?: boolean } => typeof arg === 'object' && arg !== null);
    try {
      process.exitCode = await run(...args);
    } catch (error) {
      process.exitCode = error instanceof CliError ? error.exitCode : isBadSettings(error) ? EXIT.usage : EXIT.failed;
      process.stderr.write(`error: ${oneLine(error)}\n`);
      // With -v, bad input too: the stack shows where the problem was found.
      if (flags?.verbose === true && error instanceof Error && error.stack !== undefined) {
        process.stderr.write(`${error.stack}\n`);
      }
    }
  };
}

/** Temporal settings that cannot be used (src/config.ts): checked by name to keep this module's imports light. */
function isBadSettings(error: unknown): boolean {
  return error instanceof Error && error.name === 'TemporalSettingsError';
}

export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/** The Temporal server the flags and environment name. */
export function temporalTarget(flags: TemporalFlags): { address: string; namespace: string } {
  const config = loadConfig();
  return {
    address: flags.temporalAddress ?? config.temporalAddress,
    namespace: flags.temporalNamespace ?? config.temporalNamespace,
  };
}

/** Aborts on the first Ctrl-C (SIGINT) or SIGTERM; a second one exits at once. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort(new CliError('interrupted', EXIT.interrupted));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => process.off('SIGINT', onSignal).off('SIGTERM', onSignal),
  };
}
