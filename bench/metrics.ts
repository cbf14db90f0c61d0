/**
 * What the benchmarks read from Prometheus text: the operator's own count of its Kubernetes API calls (worker and
 * watcher, `/metrics` on their HEALTH_PORT) and the kube-apiserver's count of every request it served.
 */
import { kubectl } from '../test/operator/cluster.js';

/** Labels of one sample line, `name="value",...` → Map. */
function labelsOf(text: string): Map<string, string> {
  return new Map([...text.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1]!, label[2]!]));
}

/**
 * "resource call" → calls so far, from loadtest_operator_kubernetes_requests_total of the operator process that
 * serves /metrics on `port` (informer lists and watches are not in it).
 */
export async function operatorRequestCounts(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^loadtest_operator_kubernetes_requests_total\{([^}]*)\} (\d+)/gm)) {
    const labels = labelsOf(match[1]!);
    counts.set(`${labels.get('resource')} ${labels.get('call')}`, Number(match[2]));
  }
  return counts;
}

/**
 * "VERB resource[/subresource]" → requests so far of all clients, from the kube-apiserver's own
 * apiserver_request_total (read with the test bed's credentials); undefined when /metrics is not readable.
 */
export async function apiserverRequestCounts(): Promise<Map<string, number> | undefined> {
  const text = await kubectl(['get', '--raw', '/metrics']).catch(() => undefined);
  if (text === undefined) return undefined;
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^apiserver_request_total\{([^}]*)\} ([\d.e+]+)/gm)) {
    const labels = labelsOf(match[1]!);
    const subresource = labels.get('subresource') ? `/${labels.get('subresource')}` : '';
    const key = `${labels.get('verb')} ${labels.get('resource') ?? ''}${subresource}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** `after − before` per key, keys with no change left out. */
export function countDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, count] of after) {
    const change = count - (before.get(key) ?? 0);
    if (change !== 0) delta.set(key, change);
  }
  return delta;
}
