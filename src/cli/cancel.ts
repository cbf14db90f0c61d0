/**
 * `cancel NAME`: stop a LoadTest and delete its runners. A LoadTest that exists in Kubernetes is deleted there
 * (as `kubectl delete` would; the watcher then tells its workflow), since a workflow stopped behind the
 * object's back would be started again. Any other (local, or started from code) gets the delete signal.
 */
import type { Command } from 'commander';
import {
  action,
  addCommonOptions,
  CliError,
  EXIT,
  interruptSignal,
  type KubeFlags,
  type TemporalFlags,
} from './common.js';

/** How long cancel waits for the workflow to delete the runners and complete. */
const WAIT_LIMIT_MS = 60_000;

interface CancelFlags extends TemporalFlags {
  wait: boolean;
}

export function registerCancelCommand(program: Command): Command {
  const command = program
    .command('cancel')
    .summary('stop a LoadTest and delete its runners')
    .description(
      'Stop a LoadTest and delete its runners. One that exists in Kubernetes is deleted there (the operator then ' +
        'cleans up); one that exists only in Temporal (local mode, started from code) is sent the delete signal. ' +
        `Waits until its runners are gone unless --no-wait. When Temporal cannot be reached, the LoadTest is deleted ` +
        `from Kubernetes and the operator cleans up when it can.\n\nExit codes: ${EXIT.ok} cancelled (or already ` +
        `deleted); ${EXIT.usage} no such LoadTest or bad flags; ${EXIT.unavailable} Temporal unavailable, or the ` +
        `workflow did not complete within ${WAIT_LIMIT_MS / 1000} s.`,
    )
    .argument('<name>', 'LoadTest name (or its workflow id)')
    .option('--no-wait', 'return once asked, without waiting for the runners to be deleted');
  return addCommonOptions(command).action(
    action(async (name: string, flags: CancelFlags) => {
      const { connectEither, locate } = await import('./connect.js');
      const { resolveNamespace } = await import('./kubernetes.js');
      const namespace = resolveNamespace(flags);
      const source = await connectEither(flags);
      if (source.kubernetes !== undefined) {
        const { cancelInKubernetes } = await import('./from-kubernetes.js');
        const interrupt = interruptSignal();
        try {
          const wait = flags.wait ? WAIT_LIMIT_MS : undefined;
          const line = await cancelInKubernetes(source.kubernetes, namespace, name, wait, interrupt.signal);
          process.stdout.write(`${line}\n`);
          return EXIT.ok;
        } finally {
          interrupt.dispose();
        }
      }
      const { runs } = source;
      const { isGrpcDeadlineError } = await import('@temporalio/client');
      try {
        const run = await locate(runs, name, namespace);
        const { ref } = run;
        const description = await run.handle.describe();
        if (description.status.name !== 'RUNNING') {
          process.stdout.write(`LoadTest ${ref.namespace}/${ref.name} was already deleted.\n`);
          return EXIT.ok;
        }
        const how = (await deleteInKubernetes(flags, ref.namespace, ref.name, ref.uid))
          ? 'deleted from Kubernetes'
          : 'sent delete';
        if (!flags.wait) {
          process.stdout.write(`LoadTest ${ref.namespace}/${ref.name}: ${how}.\n`);
          return EXIT.ok;
        }
        if (how === 'sent delete') await run.delete();
        let result;
        try {
          result = await run.client.withDeadline(Date.now() + WAIT_LIMIT_MS, () => run.deleted());
        } catch (error) {
          if (!isGrpcDeadlineError(error)) throw error;
          throw new CliError(
            `LoadTest ${ref.namespace}/${ref.name}: ${how}, but its workflow has not completed within ` +
              `${WAIT_LIMIT_MS / 1000} s; is a worker polling task queue ${description.taskQueue}?`,
            EXIT.unavailable,
          );
        }
        const runners = result.deletedRunners.length === 0 ? 'none were left' : result.deletedRunners.join(', ');
        process.stdout.write(
          `LoadTest ${ref.namespace}/${ref.name} cancelled (${how}); runners deleted: ${runners}.\n`,
        );
        return EXIT.ok;
      } finally {
        await runs.close();
      }
    }),
  );
}

/** Deletes the LoadTest object when this cluster has it (same uid); false when there is no such object or cluster. */
async function deleteInKubernetes(flags: KubeFlags, namespace: string, name: string, uid: string): Promise<boolean> {
  const { connectKubernetes } = await import('./kubernetes.js');
  let kubernetes;
  try {
    kubernetes = connectKubernetes(flags);
    const object = await kubernetes.get(namespace, name);
    if (object?.metadata.uid !== uid) return false;
  } catch {
    return false;
  }
  return kubernetes.delete(namespace, name);
}
