/**
 * A SIMULATED node for `npm run bench:operator --replicas 1000`: it measures the operator, not runners. Pods bound
 * to it are not containers: each is a tiny stand-in that speaks the real runner's contract (control endpoint,
 * start signal, progress, summary in the termination message) and reports a fixed number of requests it never
 * sends. Only the benchmark uses it; nothing of the product does.
 *
 * The node is real to the API server: a Ready Node (labelled, tainted so that only pods of namespaces carrying
 * `namespaceAnnotations` land there) with a Lease renewed like a kubelet's; kube-scheduler binds the pods. Its agent
 * (bench/sim/agent.ts) runs in a child process of its own, its stand-ins (bench/sim/stand-in.ts) all in that one
 * process, each on a loopback address of its own (127.101.x.y) that is its pod's IP.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildOptions } from './sim/child.js';
import { simNamespaceAnnotations } from './sim/agent.js';

export interface SimulatedNodeOptions {
  /** Requests each stand-in reports in its summary (and progress): the merged count is checked exactly. */
  requestsPerRunner: number;
  /** How long each stand-in "sends" after the start time it was given, ms. */
  sendMs: number;
  /** Pod status writes the node has in flight at once (a kubelet per node writes its own). Default 16. */
  statusConcurrency?: number;
  /** The Node's name. Default `bench-sim-node`. */
  nodeName?: string;
  /** Receives the agent's log lines. Default: stderr. */
  log?: (line: string) => void;
}

export interface SimulatedNode {
  /** The Node's name. */
  readonly name: string;
  /** Namespace annotations that put every pod created there on this node (PodNodeSelector, tolerations). */
  readonly namespaceAnnotations: Record<string, string>;
  /** Epoch ms at which each stand-in took its start call, and at which it ended (its pod Succeeded). */
  timeline(): { started: number[]; ended: number[] };
  /** Stops the stand-ins and removes the Node. */
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./sim/child.js', import.meta.url));
/** How long closing may take (force-deleting what is left of 1000 pods) before the agent is killed. */
const CLOSE_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 60_000;

/** Registers the simulated node and serves the pods the scheduler binds to it. */
export async function startSimulatedNode(options: SimulatedNodeOptions): Promise<SimulatedNode> {
  const { requestsPerRunner, sendMs } = options;
  if (!Number.isSafeInteger(requestsPerRunner) || requestsPerRunner < 0) {
    throw new RangeError(`requestsPerRunner must be a whole number, 0 or more, not ${requestsPerRunner}`);
  }
  if (!Number.isFinite(sendMs) || sendMs < 0) throw new RangeError(`sendMs must be 0 or more, not ${sendMs}`);
  const kubeconfig = process.env.KUBECONFIG;
  if (kubeconfig === undefined) throw new Error('KUBECONFIG is not set: is the test bed up?');
  const name = options.nodeName ?? 'bench-sim-node';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { statusConcurrency } = options;
  if (statusConcurrency !== undefined && !(Number.isSafeInteger(statusConcurrency) && statusConcurrency >= 1)) {
    throw new RangeError(`statusConcurrency must be a whole number, 1 or more, not ${statusConcurrency}`);
  }
  const childOptions: ChildOptions = { kubeconfig, nodeName: name, requestsPerRunner, sendMs, statusConcurrency };
  const child = fork(CHILD, [JSON.stringify(childOptions)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', log);
  const started: number[] = [];
  const ended: number[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the simulated node was not ready within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    child.on('message', (message: ChildMessage) => {
      switch (message.type) {
        case 'started':
          started.push(message.at);
          break;
        case 'ended':
          ended.push(message.at);
          break;
        case 'ready':
          clearTimeout(timer);
          resolve();
          break;
        case 'failed':
          clearTimeout(timer);
          reject(new Error(`the simulated node could not start: ${message.error}`));
          break;
        default:
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(`the simulated node's process exited (${child.exitCode ?? child.signalCode}) before it was ready`),
      );
    });
  });
  try {
    await ready;
  } catch (error) {
    await stop(child, exited);
    throw error;
  }
  return {
    name,
    namespaceAnnotations: simNamespaceAnnotations(name),
    timeline: () => ({ started: [...started], ended: [...ended] }),
    close: () => stop(child, exited),
  };
}

/** Asks the agent to close (it removes the Node), then waits for its exit; kills it when it takes too long. */
async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send({ type: 'close' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
