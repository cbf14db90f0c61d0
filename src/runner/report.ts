/** The human-readable report the runner prints by default (`--output table`). */
import { counts, requestLine, row } from '../loadtest/format.js';
import type { LoadTestResults } from '../loadtest/spec.js';
import type { LatencyStatsMs } from './histogram.js';
import type { RunPlan } from './plan.js';

const COLUMN_WIDTH = 10;
const PERCENTILE_COLUMNS: [string, keyof LatencyStatsMs][] = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
  ['p99.9', 'p999'],
  ['max', 'max'],
  ['mean', 'mean'],
];

function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function describeLoad(plan: RunPlan): string {
  const stages = plan.stages?.map((stage) => `${stage.durationMs / 1000} s→${stage.target}`).join(', ');
  const openModel = stages === undefined ? `open model at ${plan.rate} req/s` : `open model, stages ${stages} req/s`;
  const closedModel = stages === undefined ? 'closed model' : `closed model, stages ${stages} connections`;
  const parts = [plan.model === 'open' ? openModel : closedModel];
  const connections = `${plan.connections} connection${plan.connections === 1 ? '' : 's'}`;
  parts.push(plan.model === 'closed' && stages !== undefined ? `at most ${connections}` : connections);
  if (plan.requests !== undefined) parts.push(`${plan.requests} requests`);
  if (plan.scheduledRequests !== undefined) parts.push(`${plan.scheduledRequests} requests scheduled`);
  if (plan.durationMs !== undefined) parts.push(`${plan.durationMs / 1000} s`);
  if (plan.pipelining > 1) parts.push(`pipelining ${plan.pipelining}`);
  parts.push(`${plan.transport} transport`);
  parts.push(`${plan.threads} thread${plan.threads === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function latencyRow(label: string, stats: LatencyStatsMs): string {
  return row(`  ${label}`, PERCENTILE_COLUMNS.map(([, key]) => stats[key].toFixed(3).padStart(COLUMN_WIDTH)).join(''));
}

export function formatTable(plan: RunPlan, results: LoadTestResults): string {
  const seconds = (Date.parse(results.endTime) - Date.parse(results.startTime)) / 1000;
  const lines = [
    row('Target', `${plan.method} ${plan.url.href}`),
    row('Load', describeLoad(plan)),
    row(
      'Requests',
      `${results.requests} sent, ${results.completed} completed, ${results.errors} failed, ${results.dropped} dropped` +
        ` (error rate ${(results.errorRate * 100).toFixed(2)} %)`,
    ),
    row('Throughput', `${results.rps} req/s over ${seconds.toFixed(2)} s, ${bytes(results.bytesRead)} read`),
    row('Statuses', counts(results.statusCodes)),
    row('Errors', counts(results.errorsByKind)),
    row('Latency ms', PERCENTILE_COLUMNS.map(([name]) => name.padStart(COLUMN_WIDTH)).join('')),
    latencyRow(results.serviceTimeMs === undefined ? 'response' : 'intended', results.latencyMs),
  ];
  if (results.serviceTimeMs !== undefined) lines.push(latencyRow('service', results.serviceTimeMs));
  for (const [index, [name, request]] of Object.entries(results.byRequest ?? {}).entries()) {
    lines.push(row(index === 0 ? 'By request' : '', requestLine(name, request)));
  }
  return `${lines.join('\n')}\n`;
}
