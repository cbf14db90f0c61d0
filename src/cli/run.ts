/** `run FILE`: apply a LoadTest and follow it to the end, in a cluster or (--local) on this machine. */
import { Option, type Command } from 'commander';
import { action, addCommonOptions, EXIT, temporalTarget, type TemporalFlags } from './common.js';
import type { OutputFormat } from './follow.js';

interface RunFlags extends TemporalFlags {
  local?: boolean;
  target?: string;
  keepUi?: boolean;
  detach?: boolean;
  startTimeout?: string;
  output: OutputFormat;
}

const DESCRIPTION = [
  'Run the LoadTest in FILE and follow it until it ends, showing live progress and then the results.',
  'In a cluster (the default), the LoadTest is applied as `kubectl apply --server-side -f FILE` would, and the ' +
    'operator runs it; Ctrl-C stops following, not the test.',
  'With --local, nothing needs Kubernetes: the same workflow runs runner processes on this machine against ' +
    'spec.test.url or --target. Temporal is the server TEMPORAL_ADDRESS names, else an embedded dev server (with ' +
    'its Web UI) that stops when the command ends. Ctrl-C stops the runners.',
  `Exit codes: ${EXIT.ok} finished; ${EXIT.failed} failed or a threshold breached; ${EXIT.usage} bad input (file, ` +
    `YAML, spec, flags); ${EXIT.unavailable} Temporal or Kubernetes unavailable; ${EXIT.interrupted} interrupted.`,
].join('\n\n');

export function registerRunCommand(program: Command): Command {
  const command = program
    .command('run')
    .summary('run a LoadTest from a YAML file and follow it until it ends')
    .description(DESCRIPTION)
    .argument('<file>', 'LoadTest manifest (YAML or JSON)')
    .option('--local', 'run here, with runner processes on this machine instead of pods')
    .option('--target <url>', 'with --local: base URL to load instead of the Service (or spec.test.url host)')
    .option('--keep-ui', 'with --local and an embedded server: keep the Web UI up after the run, until Ctrl-C')
    .option('--detach', 'in a cluster: apply the LoadTest and return without following it')
    .option('--start-timeout <duration>', 'in a cluster: how long the operator may take to start it', '60s')
    .addOption(new Option('-o, --output <format>', 'final report format').choices(['text', 'json']).default('text'));
  return addCommonOptions(command).action(
    action(async (file: string, flags: RunFlags) => {
      const { readLoadTestFile, withTarget } = await import('./load-file.js');
      let defaultNamespace = 'default';
      if (flags.local !== true) defaultNamespace = (await import('./kubernetes.js')).resolveNamespace(flags);
      const manifest = await readLoadTestFile(file, flags.namespace, defaultNamespace);
      if (flags.local === true) {
        const local = withTarget(manifest, file, flags.target);
        const { runLocally } = await import('./run-local.js');
        const fromEnv = process.env.TEMPORAL_ADDRESS?.trim();
        const address = flags.temporalAddress ?? (fromEnv === '' ? undefined : fromEnv);
        return runLocally({
          manifest: local,
          temporalAddress: address,
          temporalNamespace: address === undefined ? undefined : temporalTarget(flags).namespace,
          keepUi: flags.keepUi,
          output: flags.output,
          verbose: flags.verbose,
        });
      }
      const { runInCluster } = await import('./run-cluster.js');
      return runInCluster({ ...flags, manifest });
    }),
  );
}
