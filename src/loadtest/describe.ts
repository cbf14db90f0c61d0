/**
 * How a LoadTest reads in the Temporal Web UI, `.status.message` and Events: the workflow's static summary and
 * details (set by whoever starts it: the watcher or the client), the current details the workflow keeps up to
 * date while it runs, and one-line result messages. Pure functions: the workflow imports them too.
 * A spec that did not validate is passed as `undefined` and described as invalid.
 */
import { parseDurationMs } from './duration.js';
import { percent, requestLine, round1, stagesText } from './format.js';
import { targetUrl } from './target.js';
import type { LoadTestResults, LoadTestSpec, LoadTestState, ThresholdResult } from './spec.js';
import { secretUses } from './secrets.js';
import { thresholdMessage, thresholdTexts } from './thresholds.js';
import type { LoadTestRef } from './workflow-id.js';

/** Where the requests go, as the runners will see it. */
export function describeTarget(spec: LoadTestSpec, namespace: string): string {
  return targetUrl(spec.test, namespace);
}

/** How much each runner sends: "10 requests" or "for 30s", plus connections and rate when set. */
export function describeAmount(spec: LoadTestSpec): string {
  const test = spec.test;
  const parts =
    test.stages !== undefined
      ? [`${test.model === 'closed' ? 'closed-model ' : ''}stages ${stagesText(test.stages, test.model)}`]
      : [test.duration === undefined ? `${test.repeat ?? 1} requests` : `for ${test.duration}`];
  if (test.connections !== undefined) parts.push(`${test.connections} connections`);
  if (test.rate !== undefined) parts.push(`${test.rate} req/s`);
  if (test.requests !== undefined) {
    parts.push(`mix of ${test.requests.map((request) => `${request.name} ×${request.weight}`).join(', ')}`);
  }
  return parts.join(', ');
}

/** One line: "LoadTest default/example-02: GET http://nginx.default.svc:80/ · 5 runners × 10 requests". */
export function loadTestSummary(ref: Pick<LoadTestRef, 'namespace' | 'name'>, spec: LoadTestSpec | undefined): string {
  if (spec === undefined) return `LoadTest ${ref.namespace}/${ref.name}: invalid spec`;
  const runners = spec.replicas === 1 ? '1 runner' : `${spec.replicas} runners`;
  return `LoadTest ${ref.namespace}/${ref.name}: ${spec.test.method} ${describeTarget(spec, ref.namespace)} · ${runners} × ${describeAmount(spec)}`;
}

/** Markdown list of the spec, for the workflow's static details. */
export function loadTestDetails(ref: Pick<LoadTestRef, 'namespace' | 'name'>, spec: LoadTestSpec | undefined): string {
  if (spec === undefined)
    return list([
      ['LoadTest', `${ref.namespace}/${ref.name}`],
      ['Spec', 'invalid'],
    ]);
  const rows: Array<[string, string]> = [
    ['LoadTest', `${ref.namespace}/${ref.name}`],
    ['Target', describeTarget(spec, ref.namespace)],
    ['Method', spec.test.method],
    ['Replicas', String(spec.replicas)],
    ['Per runner', describeAmount(spec)],
  ];
  if (spec.thresholds !== undefined && spec.thresholds.length > 0)
    rows.push(['Thresholds', thresholdTexts(spec.thresholds).join(', ')]);
  // Where the values come from, never the values: the runner pods read them from the Secrets.
  const secrets = secretUses(spec.test);
  if (secrets.length > 0)
    rows.push([
      'From Secrets',
      secrets.map(({ field, secretKeyRef }) => `${field} ← ${secretKeyRef.name}/${secretKeyRef.key}`).join(', '),
    ]);
  return list(rows);
}

export interface CurrentView {
  state: LoadTestState;
  generation: number;
  step: string;
  message: string;
  children: string[];
  results?: LoadTestResults;
  thresholds?: ThresholdResult[];
  /** All runners' results so far, merged, while the run executes (activities/progress.ts LiveProgress). */
  live?: { at: number; sent: number; failed: number; rps: number; p99Ms: number };
}

/**
 * Markdown shown as the workflow's current details: state first (and, when failed, what went wrong and what to
 * do), then the spec, then results once there are some.
 */
export function currentDetails(
  ref: Pick<LoadTestRef, 'namespace' | 'name'>,
  spec: LoadTestSpec | undefined,
  view: CurrentView,
): string {
  const lines = [`**State: ${view.state}** (generation ${view.generation}, step ${view.step})`, ''];
  if (view.message !== '') lines.push(view.state === 'failed' ? `**Failed:** ${view.message}` : view.message, '');
  const live = view.live;
  if (live !== undefined && view.results === undefined) {
    lines.push(
      `**Live, all runners merged:** ${live.sent} requests so far (${live.failed} errors), ` +
        `${round1(live.rps)} req/s, p99 ${round1(live.p99Ms)} ms so far (as of ${new Date(live.at).toISOString()})`,
      '',
    );
  }
  lines.push(loadTestDetails(ref, spec), '');
  if (view.children.length > 0) lines.push(`Runners: ${view.children.join(', ')}`, '');
  const results = view.results;
  if (results !== undefined) {
    const latency = results.latencyMs;
    lines.push(
      list([
        ['Requests', `${results.requests} (${results.errors} errors, error rate ${percent(results.errorRate)})`],
        ['Requests/s', String(round1(results.rps))],
        ['Latency p50 / p99 / max', `${round1(latency.p50)} / ${round1(latency.p99)} / ${round1(latency.max)} ms`],
      ]),
      '',
    );
    const byRequest = Object.entries(results.byRequest ?? {});
    if (byRequest.length > 0) {
      lines.push(...byRequest.map(([name, request]) => `- ${requestLine(name, request)}`), '');
    }
  }
  for (const threshold of view.thresholds ?? []) {
    const text = thresholdMessage(threshold, view.results);
    lines.push(`- ${threshold.passed ? text : `**${text}**`}`);
  }
  return lines.join('\n').trim();
}

/** A Markdown list of "**key:** value" lines: reads well in the UI, which renders tables without spacing. */
function list(rows: Array<[string, string]>): string {
  return rows.map(([key, value]) => `- **${key}:** ${value}`).join('\n');
}

/** "50 requests, 0 errors, 812.3 req/s, p99 4.1ms": `.status.message` and the Finished Event. */
export function describeResults(results: LoadTestResults): string {
  const errors = results.errors === 1 ? '1 error' : `${results.errors} errors`;
  const lost = results.lostRunners ?? [];
  // onRunnerFailure: continue — say whose requests are missing from the totals.
  const without = lost.length === 0 ? '' : ` (without lost runner${lost.length > 1 ? 's' : ''} ${lost.join(', ')})`;
  return `${results.requests} requests, ${errors}, ${round1(results.rps)} req/s, p99 ${round1(results.latencyMs.p99)}ms${without}`;
}

/** How long the runners should send for, when the spec says (duration-based tests); undefined otherwise. */
export function expectedRunMs(spec: LoadTestSpec): number | undefined {
  if (spec.test.stages !== undefined) {
    return spec.test.stages.reduce((sum, stage) => sum + parseDurationMs(stage.duration), 0);
  }
  return spec.test.duration === undefined ? undefined : parseDurationMs(spec.test.duration);
}
