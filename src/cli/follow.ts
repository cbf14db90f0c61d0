/** Following a LoadTest until its run settles: shared by `run` and `watch`. */
import { outcomeOf, type LoadTestOutcome, type LoadTestRun, type LoadTestSnapshot } from '../client/run.js';
import type { LoadTestObject } from '../k8s/index.js';
import { EXIT } from './common.js';
import { formatOutcome, liveDisplay } from './display.js';

export type OutputFormat = 'text' | 'json';

export interface FollowOptions {
  output: OutputFormat;
  signal?: AbortSignal;
  /** Generation to await; default whichever settles first (see LoadTestRun.result). */
  generation?: number;
  /** Default 1000 ms. */
  pollIntervalMs?: number;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Shows live progress (text output) until the awaited run settles; returns how it ended. */
export async function follow(run: LoadTestRun, options: FollowOptions): Promise<LoadTestOutcome> {
  const stdout = options.stdout ?? process.stdout;
  const display = options.output === 'text' ? liveDisplay(stdout, run.ref) : undefined;
  let last: LoadTestSnapshot | undefined;
  try {
    for await (const snapshot of run.watch({
      generation: options.generation,
      pollIntervalMs: options.pollIntervalMs,
      signal: options.signal,
    })) {
      display?.update(snapshot);
      last = snapshot;
    }
  } finally {
    display?.finish();
  }
  return outcomeOf(run.ref, last!);
}

/** Prints the outcome (table or JSON) and returns the exit code it stands for. */
export function reportOutcome(
  outcome: LoadTestOutcome,
  output: OutputFormat,
  extra: Record<string, unknown> = {},
  stdout: NodeJS.WritableStream = process.stdout,
): number {
  if (output === 'json') stdout.write(`${JSON.stringify({ ...outcome, ...extra }, null, 2)}\n`);
  else stdout.write(`\n${formatOutcome(outcome)}`);
  return exitCodeOf(outcome);
}

export function exitCodeOf(outcome: LoadTestOutcome): number {
  return outcome.passed ? EXIT.ok : EXIT.failed;
}

/** Prints the outcome `.status` records for a settled LoadTest (plugin mode) and returns its exit code. */
export function reportKubernetesOutcome(object: LoadTestObject, output: OutputFormat): number {
  const status = object.status ?? {};
  const thresholds = status.thresholds;
  const outcome: LoadTestOutcome = {
    ref: { namespace: object.metadata.namespace, name: object.metadata.name, uid: object.metadata.uid },
    generation: status.observedGeneration ?? object.metadata.generation ?? 1,
    state: status.state === 'finished' ? 'finished' : 'failed',
    message: status.message ?? '',
    results: status.results,
    thresholds,
    breached: (thresholds ?? []).filter((threshold) => !threshold.passed),
    passed: status.state === 'finished' && (thresholds ?? []).every((threshold) => threshold.passed),
  };
  return reportOutcome(outcome, output, { source: 'kubernetes' });
}
