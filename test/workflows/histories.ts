/**
 * Workflow histories kept as replay fixtures (test/fixtures/histories/): every run of a test's workflow, the whole
 * continue-as-new chain, one file per run named after the test, `<test-title>-run<N>.json` (run1 is the first).
 * The replay test (replay.test.ts) proves the current workflow code still replays every one of them.
 *
 * Record them with
 *
 *     npm run record:histories
 *
 * which builds, runs the workflow tests (loadtest.test.ts, own dev server) and the operator integration tests
 * (test bed) with RECORD_HISTORIES=1, then replays what they wrote. `RECORD_HISTORIES=1 npm run test:unit`
 * records the workflow tests only. Without RECORD_HISTORIES=1 nothing is written.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../../../test/fixtures/histories/', import.meta.url));

/** A chain longer than this is a runaway test, not something to keep. */
const MAX_RUNS = 50;

/** A history as `temporal workflow show --output json` writes it, reduced to what we read. */
export interface HistoryJson {
  events: Array<{
    eventType?: string;
    workflowExecutionStartedEventAttributes?: {
      workflowType?: { name?: string };
      originalExecutionRunId?: string;
      continuedExecutionRunId?: string;
    };
    workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string };
    startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string };
  }>;
}

export const STARTED = 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED';
export const CONTINUED_AS_NEW = 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW';

/** The file-name stem of a test's fixtures: its title in lower-case words joined by dashes, at most 80 characters. */
export function fixtureStem(title: string): string {
  return title
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 80)
    .replace(/-$/, '');
}

/** Which title each stem was recorded for in this process, so two tests never overwrite each other's fixtures. */
const recordedStems = new Map<string, string>();

/**
 * With RECORD_HISTORIES=1, writes every run of the workflow `workflowId`, from its first run to its latest, as
 * `<fixtureStem(title)>-run<N>.json`, and removes that test's fixtures of runs it no longer has. The chain is
 * walked backwards from the latest run through each run's `continuedExecutionRunId`: unlike a visibility list,
 * this sees every run at once and only the runs of this chain.
 */
export async function saveHistoriesIfRecording(title: string, workflowId: string, address: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const stem = fixtureStem(title);
  const earlier = recordedStems.get(stem);
  if (earlier !== undefined && earlier !== title) {
    throw new Error(`the fixtures of "${earlier}" and "${title}" would share the name ${stem}-run<N>.json`);
  }
  recordedStems.set(stem, title);

  const runs: string[] = [];
  let history = await showHistory(address, workflowId);
  for (;;) {
    runs.unshift(history.text);
    const previous = startedAttributes(history.json, workflowId).continuedExecutionRunId;
    if (previous === undefined || previous === '') break;
    if (runs.length >= MAX_RUNS) throw new Error(`workflow ${workflowId} has more than ${MAX_RUNS} runs`);
    history = await showHistory(address, workflowId, previous);
  }

  // Each run of a LoadTest is a child workflow of its own (workflows/run.ts): keep theirs too, `-run<N>-child<K>`.
  const children: Array<{ name: string; text: string }> = [];
  for (const [index, text] of runs.entries()) {
    const ids = (JSON.parse(text) as HistoryJson).events
      .map((event) => event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId)
      .filter((id): id is string => id !== undefined);
    for (const [k, id] of ids.entries()) {
      children.push({
        name: `${stem}-run${index + 1}-child${k + 1}.json`,
        text: (await showHistory(address, id)).text,
      });
    }
  }

  mkdirSync(HISTORIES_DIR, { recursive: true });
  const ownFixture = new RegExp(`^${stem}-run\\d+(-child\\d+)?\\.json$`);
  for (const file of readdirSync(HISTORIES_DIR).filter((name) => ownFixture.test(name))) {
    rmSync(join(HISTORIES_DIR, file));
  }
  for (const [index, text] of runs.entries()) writeFileSync(join(HISTORIES_DIR, `${stem}-run${index + 1}.json`), text);
  for (const child of children) writeFileSync(join(HISTORIES_DIR, child.name), child.text);
}

/** Reads a fixture, failing with the file's name when it is not a LoadTest workflow history. */
export function readHistoryFixture(file: string): HistoryJson {
  const text = readFileSync(join(HISTORIES_DIR, file), 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const history = json as Partial<HistoryJson> | null;
  if (typeof history !== 'object' || history === null || !Array.isArray(history.events)) {
    throw new Error(`${file} has no "events" array: not a history written by "temporal workflow show --output json"`);
  }
  const attributes = startedAttributes(history as HistoryJson, file);
  const type = attributes.workflowType?.name;
  if (type !== 'loadTestWorkflow' && type !== 'loadTestRunWorkflow') {
    throw new Error(`${file} is a history of workflow type ${type}, not loadTestWorkflow or loadTestRunWorkflow`);
  }
  return history as HistoryJson;
}

/** The attributes of a history's first event, which must be the start of the workflow run. */
export function startedAttributes(history: HistoryJson, name: string) {
  const first = history.events[0];
  if (first?.eventType !== STARTED || first.workflowExecutionStartedEventAttributes === undefined) {
    throw new Error(`the history of ${name} does not begin with ${STARTED} (it begins with ${first?.eventType})`);
  }
  return first.workflowExecutionStartedEventAttributes;
}

/** One run's history (the latest run when `runId` is not given), in the format replay reads. */
async function showHistory(
  address: string,
  workflowId: string,
  runId?: string,
): Promise<{ text: string; json: HistoryJson }> {
  const args = ['workflow', 'show', '--address', address, '-w', workflowId, '--output', 'json'];
  if (runId !== undefined) args.push('-r', runId);
  const { stdout } = await promisify(execFile)(await ensureTemporalCli(), args, { maxBuffer: 64 * 1024 * 1024 });
  return { text: stdout, json: JSON.parse(stdout) as HistoryJson };
}
