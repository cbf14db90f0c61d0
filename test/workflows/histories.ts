/**
 * Workflow histories kept as replay fixtures (test/fixtures/histories/). Set RECORD_HISTORIES=1 to (re)write
 * them from a test run; the replay test then proves the current workflow code still replays every one.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const HISTORIES_DIR = fileURLToPath(new URL('../../../test/fixtures/histories/', import.meta.url));

/** Writes the history of `handle`'s run as `temporal workflow show --output json` does (the format replay reads). */
export async function saveHistoryIfRecording(title: string, handle: WorkflowHandle, address: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  await saveRunHistory(title, handle.workflowId, (await handle.describe()).runId, address);
}

/** Writes the history of one run of a workflow to test/fixtures/histories/<title>.json. */
export async function saveRunHistory(title: string, workflowId: string, runId: string, address: string): Promise<void> {
  const args = ['workflow', 'show', '--address', address, '-w', workflowId, '-r', runId, '--output', 'json'];
  const { stdout } = await promisify(execFile)(await ensureTemporalCli(), args, { maxBuffer: 64 * 1024 * 1024 });
  const file = `${title
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 80)}.json`;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, file), stdout);
}
