import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { START_AT_ANNOTATION } from '../../src/runner/contract.js';
import { parseDownwardApiFile, waitForStart } from '../../src/runner/start-sync.js';

describe('start synchronisation', () => {
  let directory: string;
  let file: string;
  const notes: string[] = [];
  const log = (line: string) => notes.push(line);

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'runner-start-'));
    file = join(directory, 'annotations');
    notes.length = 0;
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('parses Downward API files with Go-quoted values', () => {
    const entries = parseDownwardApiFile(`a="1"\n${START_AT_ANNOTATION}="1700000000000"\nb="with \\"quotes\\""\n`);
    assert.equal(entries.get(START_AT_ANNOTATION), '1700000000000');
    assert.equal(entries.get('b'), 'with "quotes"');
  });

  it('waits for --start-at', async () => {
    const startAt = Date.now() + 150;
    await waitForStart({ startAtMs: startAt, log });
    assert.ok(Date.now() >= startAt);
    assert.deepEqual(notes, []);
  });

  it('waits until the annotation appears in the file, then until the time it names', async () => {
    await writeFile(file, 'other="x"\n');
    let startAt = 0;
    const waiting = waitForStart({ startAtFile: file, log });
    // The operator annotates the pod a little later, with a start time a little after that.
    setTimeout(() => {
      startAt = Date.now() + 200;
      void writeFile(file, `other="x"\n${START_AT_ANNOTATION}="${startAt}"\n`);
    }, 100);
    await waiting;
    assert.ok(startAt > 0 && Date.now() >= startAt, 'started at the annotated time');
    assert.deepEqual(notes, []);
  });

  it('gives up waiting after the limit and says so on the log', async () => {
    const before = Date.now();
    await waitForStart({ startAtFile: join(directory, 'never-written'), waitLimitMs: 300, log });
    assert.ok(Date.now() - before >= 300);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /no loadtest\.example\.org\/start-at .* starting now/);
  });

  // Far enough ahead that reaching it means the abort was ignored, well within the test's timeout.
  const FAR_AHEAD_MS = 20_000;

  it('stops waiting for --start-at when aborted, long before the start time', async () => {
    const abort = new AbortController();
    const startAt = Date.now() + FAR_AHEAD_MS;
    const waiting = waitForStart({ startAtMs: startAt, signal: abort.signal, log });
    abort.abort();
    await waiting;
    assert.ok(Date.now() < startAt, 'returned before the start time, so the abort ended the wait');
  });

  it('does not wait at all when the signal is already aborted', async () => {
    const startAt = Date.now() + FAR_AHEAD_MS;
    await waitForStart({ startAtMs: startAt, signal: AbortSignal.abort(), log });
    assert.ok(Date.now() < startAt, 'returned before the start time');
  });

  it('stops waiting for the annotation when aborted, without claiming the wait limit passed', async () => {
    const abort = new AbortController();
    const startedAt = Date.now();
    const waiting = waitForStart({
      startAtFile: join(directory, 'never-written'),
      waitLimitMs: FAR_AHEAD_MS,
      signal: abort.signal,
      log,
    });
    abort.abort();
    await waiting;
    assert.ok(Date.now() < startedAt + FAR_AHEAD_MS, 'returned before the wait limit');
    assert.deepEqual(notes, [], 'no "starting now" note: the run was cancelled, not timed out');
  });
});
