/**
 * Headers and bodies from Secrets on the test bed's real node (issue 16, README "Secrets"): the target gets the
 * exact values, and they appear nowhere else: not in the workflow histories (`temporal workflow show` of the
 * LoadTest's workflow and of its run), the runner pods (`kubectl get pod -o yaml`), the Events, the LoadTest's
 * status, the runner's log, or the operator's logs. Each of those is first shown to hold the Secret's name or the
 * run's namespace, so that the check reads the right text. A missing Secret fails the run at once, naming it.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LOADTEST_UID_LABEL } from '../../src/k8s/index.js';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';
import { apply, eventually, getJson, kubectl, loadTestManifest } from './cluster.js';
import { operatorSuite } from './suite.js';

interface LoadTestJson {
  metadata: { uid: string; generation: number };
  status?: { state?: string; message?: string; results?: { requests: number } };
}

async function temporal(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    await ensureTemporalCli(),
    [...args, '--address', process.env.TEMPORAL_ADDRESS!],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** Every payload's `data` in a `temporal ... --output json` document, decoded from base64. */
function decodedPayloads(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(decodedPayloads);
  if (typeof value !== 'object' || value === null) return [];
  const fields = value as Record<string, unknown>;
  const own =
    typeof fields.data === 'string' && 'metadata' in fields ? [Buffer.from(fields.data, 'base64').toString()] : [];
  return [...own, ...Object.values(fields).flatMap(decodedPayloads)];
}

/**
 * `temporal workflow show` as a user runs it: its detailed text (payloads shown as the JSON they hold), and its
 * JSON with every payload decoded, so that no payload escapes the check whatever its encoding.
 */
async function workflowShow(workflowId: string): Promise<string> {
  const detailed = await temporal(['workflow', 'show', '--workflow-id', workflowId, '--detailed']);
  const json = await temporal(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json']);
  return [detailed, json, ...decodedPayloads(JSON.parse(json))].join('\n');
}

describe('headers and bodies from Secrets on the test bed', function () {
  this.timeout(240_000);
  // Debug: every line the operator can write is in the logs checked below.
  const { operator, namespace, serve } = operatorSuite('secrets', { LOG_LEVEL: 'debug' });

  const loadTest = (ns: string, name: string) => getJson<LoadTestJson>(['get', 'loadtest', name, '-n', ns]);
  const settled = (ns: string, name: string) =>
    eventually(
      async () => {
        const object = await loadTest(ns, name);
        return ['finished', 'failed'].includes(object.status?.state ?? '') ? object : undefined;
      },
      150_000,
      `${name} settled`,
    );

  it("sends the Secret's header and body, which appear in no history, pod, Event, status or operator log", async () => {
    const ns = await namespace();
    const target = await serve(ns);
    target.record = true;
    // Random per run: the operator's log files are appended to across runs.
    const token = `Bearer t16-${randomBytes(16).toString('hex')}`;
    const payload = `{"card":"${randomBytes(8).toString('hex')}"}`;
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-token', namespace: ns },
      stringData: { header: token, 'checkout.json': payload },
    });

    await apply(
      loadTestManifest(ns, 'checkout', {
        replicas: 1,
        cleanup: 'keep',
        test: {
          serviceName: 'target',
          method: 'POST',
          repeat: 3,
          headersFrom: [{ name: 'Authorization', secretKeyRef: { name: 'api-token', key: 'header' } }],
          bodyFrom: { secretKeyRef: { name: 'api-token', key: 'checkout.json' } },
        },
      }),
    );
    const done = await settled(ns, 'checkout');

    assert.equal(done.status?.state, 'finished', done.status?.message);
    assert.equal(target.received.length, 3);
    for (const request of target.received) {
      assert.equal(request.headers.authorization, token);
      assert.equal(request.body, payload);
    }

    const workflowId = loadTestWorkflowId({ namespace: ns, name: 'checkout', uid: done.metadata.uid });
    const pods = await kubectl([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `${LOADTEST_UID_LABEL}=${done.metadata.uid}`,
      '-o',
      'yaml',
    ]);
    const workerLog = await readFile(operator.logFile('worker'), 'utf8');
    // Each place with what shows that the check reads it: the spec's reference to the Secret where the spec is
    // (payloads shown decoded), the LoadTest's namespace where only the run is.
    const places: Array<[string, string, string]> = [
      ['the LoadTest workflow (temporal workflow show)', await workflowShow(workflowId), 'api-token'],
      [
        'its run workflow (temporal workflow show)',
        await workflowShow(`${workflowId}/g${done.metadata.generation}`),
        'api-token',
      ],
      ['the runner pods (kubectl get pod -o yaml)', pods, 'api-token'],
      [
        'the LoadTest (kubectl get loadtest -o yaml)',
        await kubectl(['get', 'loadtest', 'checkout', '-n', ns, '-o', 'yaml']),
        'api-token',
      ],
      ["the namespace's Events", await kubectl(['get', 'events', '-n', ns, '-o', 'yaml']), 'checkout'],
      ["the runner's log (kubectl logs)", await kubectl(['logs', '-n', ns, 'checkout-g1-0']), ns],
      ["the operator's worker log", workerLog, ns],
      ["the operator's watcher log", await readFile(operator.logFile('watcher'), 'utf8'), ns],
    ];
    const secretParts = [token, token.slice('Bearer '.length), payload, Buffer.from(token).toString('base64')];
    for (const [place, text, control] of places) {
      assert.ok(text.includes(control), `${place} does not name ${control}: the check would read the wrong text`);
      for (const part of secretParts) assert.ok(!text.includes(part), `${place} holds a value of the Secret`);
    }
    assert.match(pods, /name: LOADTEST_HEADER_0\n\s+valueFrom:\n\s+secretKeyRef:\n\s+key: header\n\s+name: api-token/);
  });

  it('fails a run whose Secret is missing at once, naming the Secret', async () => {
    const ns = await namespace();
    await serve(ns);

    await apply(
      loadTestManifest(ns, 'no-secret', {
        replicas: 1,
        test: {
          serviceName: 'target',
          headersFrom: [{ name: 'Authorization', secretKeyRef: { name: 'missing-token', key: 'header' } }],
        },
      }),
    );
    const done = await settled(ns, 'no-secret');

    assert.equal(done.status?.state, 'failed');
    assert.match(
      done.status?.message ?? '',
      /runner no-secret-g1-0 cannot start: CreateContainerConfigError: secret "missing-token" not found/,
    );
  });
});
