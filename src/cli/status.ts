/** `status NAME`: where a LoadTest is and, once settled, its results; its schedule and run history. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, type TemporalFlags } from './common.js';

interface StatusFlags extends TemporalFlags {
  output: 'text' | 'json' | 'yaml' | 'name';
}

const DESCRIPTION = [
  "Show a LoadTest's state, step, runners, live progress and, once its run has settled, its results and thresholds; " +
    'with spec.schedule, the schedule (suspended or not, last and next tick); and the last runs, newest first.',
  "When Temporal cannot be reached, what the LoadTest's .status in Kubernetes says (no live progress).",
  `Exit codes: ${EXIT.ok} pending, executing or finished; ${EXIT.failed} failed or a threshold breached; ` +
    `${EXIT.usage} no such LoadTest or bad flags; ${EXIT.unavailable} neither Temporal nor Kubernetes reachable.`,
].join('\n\n');

export function registerStatusCommand(program: Command): Command {
  const command = program
    .command('status')
    .summary("show a LoadTest's state, progress and results")
    .description(DESCRIPTION)
    .argument('<name>', 'LoadTest name (or its workflow id)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml', 'name']).default('text'),
    );
  return addCommonOptions(command).action(
    action(async (name: string, flags: StatusFlags) => {
      const { connectEither, locate } = await import('./connect.js');
      const { resolveNamespace } = await import('./kubernetes.js');
      const { formatSnapshot } = await import('./display.js');
      const view = await import('./from-kubernetes.js');
      const namespace = resolveNamespace(flags);
      const source = await connectEither(flags);
      if (source.kubernetes !== undefined) {
        const object = await source.kubernetes.get(namespace, name);
        if (object === undefined) throw view.noSuchLoadTest(namespace, name);
        const item = view.rowOf(object);
        if (flags.output === 'text') process.stdout.write(view.formatKubernetesStatus(item));
        else if (flags.output === 'name') process.stdout.write(`${view.resourceName(item.ref.name)}\n`);
        else process.stdout.write(view.formatData(item, flags.output));
        return item.state === 'failed' ? EXIT.failed : EXIT.ok;
      }
      const { runs } = source;
      try {
        const run = await locate(runs, name, namespace);
        const snapshot = await run.snapshot();
        if (flags.output === 'text') process.stdout.write(formatSnapshot(run.ref, snapshot, run.workflowId));
        else if (flags.output === 'name') process.stdout.write(`${view.resourceName(run.ref.name)}\n`);
        else
          process.stdout.write(
            view.formatData({ ref: run.ref, workflowId: run.workflowId, ...snapshot }, flags.output),
          );
        return snapshot.state === 'failed' ? EXIT.failed : EXIT.ok;
      } finally {
        await runs.close();
      }
    }),
  );
}
