/** `watch NAME`: live progress of a LoadTest until its run settles; exits like `run`. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, interruptSignal, type TemporalFlags } from './common.js';
import type { OutputFormat } from './follow.js';

interface WatchFlags extends TemporalFlags {
  output: OutputFormat;
}

const DESCRIPTION = [
  'Show live progress of a LoadTest (state, elapsed time, requests, requests/s, p99) until its current run ends, ' +
    'then its results. On a terminal the view is redrawn in place; otherwise (or with TERM=dumb) every update is ' +
    "one plain key=value line. When Temporal cannot be reached, the LoadTest's .status in Kubernetes is followed " +
    'instead (state and runners, results at the end).',
  `Exit codes: ${EXIT.ok} finished; ${EXIT.failed} failed or a threshold breached; ${EXIT.usage} no such ` +
    `LoadTest or bad flags; ${EXIT.unavailable} neither Temporal nor Kubernetes reachable; ${EXIT.interrupted} ` +
    'interrupted.',
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
      const { connectEither, locate } = await import('./connect.js');
      const { resolveNamespace } = await import('./kubernetes.js');
      const { follow, reportOutcome, reportKubernetesOutcome } = await import('./follow.js');
      const { watchKubernetes } = await import('./from-kubernetes.js');
      const namespace = resolveNamespace(flags);
      const source = await connectEither(flags);
      const interrupt = interruptSignal();
      try {
        if (source.kubernetes !== undefined) {
          const progress = flags.output === 'json' ? process.stderr : process.stdout;
          const object = await watchKubernetes(source.kubernetes, namespace, name, {
            signal: interrupt.signal,
            progress,
          });
          return reportKubernetesOutcome(object, flags.output);
        }
        const { runs } = source;
        try {
          const run = await locate(runs, name, namespace);
          const outcome = await follow(run, { output: flags.output, signal: interrupt.signal });
          return reportOutcome(outcome, flags.output, { workflowId: run.workflowId });
        } finally {
          await runs.close();
        }
      } catch (error) {
        if (interrupt.signal.aborted) return EXIT.interrupted;
        throw error;
      } finally {
        interrupt.dispose();
      }
    }),
  );
}
