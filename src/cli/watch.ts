/** `watch NAME`: live progress of a LoadTest until its run settles; exits like `run`. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, interruptSignal, type TemporalFlags } from './common.js';
import type { OutputFormat } from './follow.js';

interface WatchFlags extends TemporalFlags {
  output: OutputFormat;
}

const DESCRIPTION = [
  'Show live progress of a LoadTest (state, elapsed time, requests, requests/s, p99) until its current run ends, ' +
    'then its results. On a terminal the view is redrawn in place; otherwise every update is one plain ' +
    'key=value line.',
  `Exit codes: ${EXIT.ok} finished; ${EXIT.failed} failed or a threshold breached; ${EXIT.usage} no such ` +
    `LoadTest or bad flags; ${EXIT.unavailable} Temporal unavailable; ${EXIT.interrupted} interrupted.`,
].join('\n\n');

export function registerWatchCommand(program: Command): Command {
  const command = program
    .command('watch')
    .summary('follow a LoadTest live until its run ends')
    .description(DESCRIPTION)
    .argument('<name>', 'LoadTest name (or its workflow id)')
    .addOption(new Option('-o, --output <format>', 'final report format').choices(['text', 'json']).default('text'));
  return addCommonOptions(command).action(
    action(async (name: string, flags: WatchFlags) => {
      const { connectRuns, locate } = await import('./connect.js');
      const { follow, reportOutcome } = await import('./follow.js');
      const runs = await connectRuns(flags);
      const interrupt = interruptSignal();
      try {
        const run = await locate(runs, name, flags.namespace ?? 'default');
        const outcome = await follow(run, { output: flags.output, signal: interrupt.signal });
        return reportOutcome(outcome, flags.output, { workflowId: run.workflowId });
      } catch (error) {
        if (interrupt.signal.aborted) return EXIT.interrupted;
        throw error;
      } finally {
        interrupt.dispose();
        await runs.close();
      }
    }),
  );
}
