/**
 * `run FILE --local`: the LoadTest runs on this machine. The same workflow as in a cluster drives runner
 * processes here (activities/local); Temporal is TEMPORAL_ADDRESS's server or an embedded dev server that lives
 * as long as this command. The LoadTest exists as long as the command: at the end its workflow is sent the
 * delete signal, so nothing is left running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunTiming } from '../../workflows/definitions.js';
import type { LoadTestOutcome, LoadTestRun } from '../client/run.js';
import { startLocalEnvironment, type LocalEnvironment } from '../local/environment.js';
import { workflowUiLink } from '../local/temporal.js';
import { localSecretsProblem } from '../loadtest/secrets.js';
import { CliError, EXIT, interruptSignal, oneLine, unavailableError, usageError } from './common.js';
import { follow, reportOutcome, type OutputFormat } from './follow.js';
import type { LoadTestManifest } from './load-file.js';
import type { Logger } from 'pino';
import { createLogger, routeTemporalLogs } from './logging.js';

/**
 * Runner processes start in a second or two, not minutes like pods: a shorter start timeout. The start delay
 * stays the workflow's default (3 s), since a runner counts as running once spawned but reads its start time
 * only after Node has loaded it.
 */
export const LOCAL_TIMING: RunTiming = { runningTimeoutMs: 60_000 };

export interface LocalRunSettings {
  manifest: LoadTestManifest;
  /** An existing Temporal server; default: an embedded dev server. */
  temporalAddress?: string;
  temporalNamespace?: string;
  /** Web UI of an existing server, for the link (default: TEMPORAL_UI_URL). */
  uiUrl?: string;
  /** Keep an embedded server (and its Web UI) up after the run until Ctrl-C. */
  keepUi?: boolean;
  output: OutputFormat;
  verbose?: boolean;
  /** Executable and leading arguments that run `loadtest-operator` (tests); default this package's CLI. */
  runnerCommand?: readonly string[];
}

/** Runs the LoadTest locally, prints its progress and results; returns the exit code. */
export async function runLocally(settings: LocalRunSettings): Promise<number> {
  const { manifest, output } = settings;
  // Before anything starts: the local activities refuse it too, but later and less plainly.
  const secrets = localSecretsProblem(manifest.spec.test);
  if (secrets !== undefined) throw usageError(`LoadTest ${manifest.namespace}/${manifest.name}: ${secrets}`);
  // People read progress on stdout; with JSON output, stdout carries only the JSON.
  const say = (line: string) => (output === 'json' ? process.stderr : process.stdout).write(`${line}\n`);
  const workDir = await mkdtemp(join(tmpdir(), `loadtest-${manifest.name}-`));
  const logFile = join(workDir, 'operator.log');
  const logger = createLogger({ file: logFile, verbose: settings.verbose === true });
  routeTemporalLogs(logger);
  const interrupt = interruptSignal();
  let keepLogs = false;
  let environment: LocalEnvironment | undefined;
  try {
    if (settings.temporalAddress === undefined) say('Starting an embedded Temporal dev server…');
    environment = await startLocalEnvironment({
      temporalAddress: settings.temporalAddress,
      temporalNamespace: settings.temporalNamespace,
      uiUrl: settings.uiUrl ?? (process.env.TEMPORAL_UI_URL || undefined),
      workDir,
      runnerCommand: settings.runnerCommand,
      logger,
    }).catch((error: unknown) => {
      const where = settings.temporalAddress ?? 'an embedded dev server';
      throw unavailableError(`cannot start the local worker on Temporal (${where}): ${oneLine(error)}`);
    });
    const run = await environment.runs.start({
      namespace: manifest.namespace,
      name: manifest.name,
      spec: manifest.spec,
      timing: LOCAL_TIMING,
    });
    const link = await uiLink(environment, run);
    say(
      `LoadTest ${manifest.namespace}/${manifest.name}: ${manifest.spec.replicas} local runner(s) → ${manifest.spec.test.url}`,
    );
    say(`Workflow  ${run.workflowId}`);
    if (link !== undefined) say(`Web UI    ${link}`);
    if (!environment.temporal.embedded)
      say(`Watch     loadtest-operator watch ${manifest.name} -n ${manifest.namespace}`);
    let outcome: LoadTestOutcome;
    try {
      outcome = await follow(run, { output, signal: interrupt.signal });
    } catch (error) {
      if (interrupt.signal.aborted) {
        say('Interrupted: stopping the runners…');
        await deleteRun(run, logger);
        return EXIT.interrupted;
      }
      throw error;
    }
    const code = reportOutcome(outcome, output, { workflowId: run.workflowId, uiUrl: link });
    keepLogs = code !== EXIT.ok;
    await deleteRun(run, logger);
    if (settings.keepUi === true && environment.temporal.embedded && link !== undefined) {
      await environment.worker.shutdown();
      say(`\nThe run stays inspectable in the Temporal Web UI: ${link}\nPress Ctrl-C to stop.`);
      await new Promise((resolve) => interrupt.signal.addEventListener('abort', resolve, { once: true }));
    }
    return code;
  } catch (error) {
    keepLogs = true;
    throw error instanceof CliError ? error : new CliError(oneLine(error), EXIT.failed);
  } finally {
    interrupt.dispose();
    await environment?.close();
    logger.flush();
    if (keepLogs && settings.verbose !== true) process.stderr.write(`Logs: ${logFile}\n`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Deletes the LoadTest's workflow (its runners stop, it completes), waiting a bounded time. Best effort: after
 * Ctrl-C in a terminal an embedded server may be gone already, and closing the environment stops the runners.
 */
async function deleteRun(run: LoadTestRun, logger: Logger): Promise<void> {
  try {
    await run.client.withDeadline(Date.now() + 30_000, async () => {
      await run.delete();
      await run.deleted();
    });
  } catch (error) {
    logger.warn({ err: error }, 'could not delete the LoadTest workflow; stopping its runners directly');
  }
}

async function uiLink(environment: LocalEnvironment, run: LoadTestRun): Promise<string | undefined> {
  const { uiUrl, namespace } = environment.temporal;
  if (uiUrl === undefined) return undefined;
  const { runId } = await run.handle.describe();
  return workflowUiLink(uiUrl, namespace, run.workflowId, runId);
}
