/**
 * The simulated node's own process (started by bench/sim-node.ts with an IPC channel), so that the CPU its stand-ins
 * and status writes use is counted neither as the operator's nor as the benchmark's. Its one argument is the
 * JSON of ChildOptions. Messages to the parent: ready | failed | started | ended | closed (ChildMessage); from the
 * parent: close. It also closes when the parent goes away (the channel disconnects).
 */
import { SimNodeAgent } from './agent.js';

export interface ChildOptions {
  kubeconfig: string;
  nodeName: string;
  requestsPerRunner: number;
  sendMs: number;
  statusConcurrency?: number;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'started'; at: number }
  | { type: 'ended'; at: number }
  | { type: 'closed' };

const send = (message: ChildMessage) => {
  if (process.connected) process.send!(message);
};

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const agent = new SimNodeAgent({
  ...options,
  log: (line) => process.stderr.write(`${line}\n`),
  onStarted: (at) => send({ type: 'started', at }),
  onEnded: (at) => send({ type: 'ended', at }),
});

let closing: Promise<void> | undefined;
function close(): Promise<void> {
  closing ??= agent
    .stop()
    .catch((error: unknown) => process.stderr.write(`simulated node: closing: ${String(error)}\n`))
    .then(() => {
      send({ type: 'closed' });
      process.exit(0);
    });
  return closing;
}

process.on('message', (message: { type?: string }) => {
  if (message.type === 'close') void close();
});
process.on('disconnect', () => void close());
// Ctrl-C reaches the whole process group: the parent decides when this node closes (or goes away: disconnect).
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void close());

try {
  await agent.start();
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  await agent.stop().catch(() => undefined);
  process.exit(1);
}
