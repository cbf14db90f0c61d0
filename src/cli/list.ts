/** `list`: LoadTests known to Temporal, found through their search attributes. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, type TemporalFlags } from './common.js';

interface ListFlags extends TemporalFlags {
  allNamespaces?: boolean;
  all?: boolean;
  output: 'text' | 'wide' | 'json';
}

export function registerListCommand(program: Command): Command {
  const command = program
    .command('list')
    .alias('ls')
    .summary('list LoadTests with their state')
    .description(
      'List LoadTests, newest first, with their state, generation and age, as their workflows record them in ' +
        "Temporal's search attributes. Without --all, only LoadTests that still exist (running workflows).",
    )
    .option('-A, --all-namespaces', 'list LoadTests of every namespace')
    .option('--all', 'include deleted LoadTests (completed workflows)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'wide', 'json']).default('text'));
  return addCommonOptions(command).action(
    action(async (flags: ListFlags) => {
      const { connectRuns } = await import('./connect.js');
      const { formatList } = await import('./display.js');
      const runs = await connectRuns(flags);
      try {
        const namespace = flags.allNamespaces === true ? undefined : (flags.namespace ?? 'default');
        const rows = await runs.list({ namespace, includeClosed: flags.all === true });
        if (flags.output === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) {
          process.stderr.write(`No LoadTests found${namespace === undefined ? '' : ` in namespace ${namespace}`}.\n`);
        } else process.stdout.write(formatList(rows, new Date(), flags.output === 'wide'));
        return EXIT.ok;
      } finally {
        await runs.close();
      }
    }),
  );
}
