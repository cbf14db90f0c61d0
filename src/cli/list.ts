/**
 * `list`: LoadTests with their state. From Temporal's search attributes when it is reachable (deleted ones too,
 * with --all), else from the Kubernetes API (`.status`), as a kubectl plugin needing only a kubeconfig.
 */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, type TemporalFlags } from './common.js';
import type { ListOutput } from './from-kubernetes.js';

interface ListFlags extends TemporalFlags {
  allNamespaces?: boolean;
  all?: boolean;
  output: ListOutput;
}

export function registerListCommand(program: Command): Command {
  const command = program
    .command('list')
    .alias('ls')
    .summary('list LoadTests with their state')
    .description(
      'List LoadTests, newest first, with their state, generation, schedule, last run and age, as their workflows ' +
        "record them in Temporal's search attributes and memo. Without --all, only LoadTests that still exist (running workflows). When " +
        'Temporal cannot be reached, the LoadTests and their .status come from the Kubernetes API.',
    )
    .option('-A, --all-namespaces', 'list LoadTests of every namespace')
    .option('--all', 'include deleted LoadTests (completed workflows; needs Temporal)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'wide', 'json', 'yaml', 'name'])
        .default('text'),
    );
  return addCommonOptions(command).action(
    action(async (flags: ListFlags) => {
      const { connectEither } = await import('./connect.js');
      const { resolveNamespace } = await import('./kubernetes.js');
      const { formatList } = await import('./display.js');
      const view = await import('./from-kubernetes.js');
      const namespace = flags.allNamespaces === true ? undefined : resolveNamespace(flags);
      const source = await connectEither(flags);
      const print = (rows: unknown[], names: string[], table: () => string) => {
        if (flags.output === 'json' || flags.output === 'yaml')
          process.stdout.write(view.formatData(rows, flags.output));
        else if (flags.output === 'name')
          process.stdout.write(names.map((name) => `${view.resourceName(name)}\n`).join(''));
        else if (rows.length === 0) {
          process.stderr.write(`No LoadTests found${namespace === undefined ? '' : ` in namespace ${namespace}`}.\n`);
        } else process.stdout.write(table());
      };
      if (source.kubernetes !== undefined) {
        const rows = (await source.kubernetes.list(namespace)).map(view.rowOf);
        print(
          rows,
          rows.map((row) => row.ref.name),
          () => view.formatKubernetesList(rows, new Date(), flags.output === 'wide'),
        );
        return EXIT.ok;
      }
      const { runs } = source;
      try {
        const rows = await runs.list({ namespace, includeClosed: flags.all === true });
        print(
          rows,
          rows.map((row) => row.ref.name),
          () => formatList(rows, new Date(), flags.output === 'wide'),
        );
        return EXIT.ok;
      } finally {
        await runs.close();
      }
    }),
  );
}
