/**
 * A local-mode worker (the LoadTest workflow with local activities) in a child process, for tests that drive
 * it through the client. A separate process keeps Workers out of the mocha process, whose Temporal Runtime
 * other suites install with their own settings. Run directly, this file is that child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startLocalWorker } from '../../src/local/worker.js';
import { connectWorker } from '../../src/temporal/connection.js';

export interface LocalWorkerProcess {
  taskQueue: string;
  process: ChildProcess;
  /** Stops the worker (and its runners) and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts the child and resolves once its worker polls `taskQueue` on the Temporal server at `address`. */
export async function startLocalWorkerProcess(
  address: string,
  namespace: string,
  taskQueue: string,
): Promise<LocalWorkerProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), address, namespace, taskQueue], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') resolve();
    });
    void exited.then(() => reject(new Error(`the local worker exited before it was ready:\n${output.join('')}`)));
  });
  return {
    taskQueue,
    process: child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(address: string, namespace: string, taskQueue: string): Promise<void> {
  const connection = await connectWorker({ address, namespace });
  const worker = await startLocalWorker({ connection, namespace, taskQueue, progressIntervalMs: 200 });
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  await worker.shutdown();
  await connection.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [address, namespace, taskQueue] = process.argv.slice(2) as [string, string, string];
  await main(address, namespace, taskQueue);
}
