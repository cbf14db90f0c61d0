/**
 * The test bed's two nodes and how a pod picks one. kube-scheduler places every pod that names no node:
 *
 * - `testbed-real-node`, the real node (real-node.ts): kubelet, containerd, runc, a CNI bridge, kube-proxy and
 *   CoreDNS. It takes the pods that ask for no node: every pod the product creates in the tests runs there.
 * - `testbed-node`, the process node (node-agent.ts): containers run as local processes. It carries the taint
 *   OPT_IN_TAINT, so only pods that ask for it run there: its own tests (testbed.integration.test.ts).
 *
 * A pod asks for a node in one of three ways, all plain Kubernetes:
 * - `spec.nodeName: REAL_NODE` (or PROCESS_NODE): no scheduling at all, taints do not apply;
 * - `placementOn('real')` in its spec: a nodeSelector on NODE_LABEL and a toleration of the taint;
 * - its namespace carries `namespaceAnnotationsFor('real')`: the apiserver's PodNodeSelector and
 *   PodTolerationRestriction admission plugins add that selector and toleration to every pod created in the
 *   namespace, which is how pods created by the operator land on the real node without the operator knowing.
 */

export type TestbedNode = 'process' | 'real';

export const PROCESS_NODE = 'testbed-node';
export const REAL_NODE = 'testbed-real-node';

/** Takes the pods that ask for no node; the other node is tainted with OPT_IN_TAINT. */
export const DEFAULT_NODE: TestbedNode = 'real';

/** Label on both nodes: `process` or `real`. */
export const NODE_LABEL = 'loadtest.example.org/testbed-node';

/** Taint of the node that is not the default. */
export const OPT_IN_TAINT = { key: 'loadtest.example.org/opt-in', value: 'true', effect: 'NoSchedule' } as const;

export const nodeName = (node: TestbedNode) => (node === 'real' ? REAL_NODE : PROCESS_NODE);

/** The taints a node registers with. */
export function taintsOf(node: TestbedNode): Array<{ key: string; value: string; effect: string }> {
  return node === DEFAULT_NODE ? [] : [{ ...OPT_IN_TAINT }];
}

const toleration = { key: OPT_IN_TAINT.key, operator: 'Exists', effect: OPT_IN_TAINT.effect };

/** Pod spec fields that send one pod to `node` through the scheduler. */
export function placementOn(node: TestbedNode): {
  nodeSelector: Record<string, string>;
  tolerations: Array<Record<string, string>>;
} {
  return { nodeSelector: { [NODE_LABEL]: node }, tolerations: [toleration] };
}

/** Namespace annotations that send every pod created in the namespace to `node`. */
export function namespaceAnnotationsFor(node: TestbedNode): Record<string, string> {
  return {
    'scheduler.alpha.kubernetes.io/node-selector': `${NODE_LABEL}=${node}`,
    'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([toleration]),
  };
}
