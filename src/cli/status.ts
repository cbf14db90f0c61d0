/** `status NAME`: where a LoadTest is and, once settled, its results. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, type TemporalFlags } from './common.js';

interface StatusFlags extends TemporalFlags {
  output: 'text' | 'json';
}

const DESCRIPTION = [
  "Show a LoadTest's state, step, runners, live progress and, once its run has settled, its results and thresholds.",
  `Exit codes: ${EXIT.ok} pending, executing or finished; ${EXIT.failed} failed or a threshold breached; ` +
    `${EXIT.usage} no such LoadTest or bad flags; ${EXIT.unavailable} Temporal unavailable.`,
].join('\n\n');

export function registerStatusCommand(program: Command): Command {
  const command = program
    .command('status')
    .summary("show a LoadTest's state, progress and results")
    .description(DESCRIPTION)
    .argument('<name>', 'LoadTest name (or its workflow id)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
  return addCommonOptions(command).action(
    action(async (name: string, flags: StatusFlags) => {
      const { connectRuns, locate } = await import('./connect.js');
      const { formatSnapshot } = await import('./display.js');
      const runs = await connectRuns(flags);
      try {
        const run = await locate(runs, name, flags.namespace ?? 'default');
        const snapshot = await run.snapshot();
        process.stdout.write(
          flags.output === 'json'
            ? `${JSON.stringify({ ref: run.ref, workflowId: run.workflowId, ...snapshot }, null, 2)}\n`
            : formatSnapshot(run.ref, snapshot, run.workflowId),
        );
        return snapshot.state === 'failed' ? EXIT.failed : EXIT.ok;
      } finally {
        await runs.close();
      }
    }),
  );
}
