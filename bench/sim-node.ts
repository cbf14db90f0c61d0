/**
 * A SIMULATED node for `npm run bench:operator --replicas 1000`: it measures the operator, not runners. Pods bound
 * to it are not containers: each is a tiny stand-in that speaks the real runner's contract (control endpoint,
 * start signal, progress, summary in the termination message) and reports a fixed number of requests it never
 * sends. Only the benchmark uses it; nothing of the product does.
 */

export interface SimulatedNodeOptions {
  /** Requests each stand-in reports in its summary (and progress): the merged count is checked exactly. */
  requestsPerRunner: number;
  /** How long each stand-in "sends" after the start time it was given, ms. */
  sendMs: number;
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

/** Registers the simulated node and serves the pods the scheduler binds to it. */
export function startSimulatedNode(options: SimulatedNodeOptions): Promise<SimulatedNode> {
  void options;
  return Promise.reject(new Error('the simulated node is not built yet'));
}
