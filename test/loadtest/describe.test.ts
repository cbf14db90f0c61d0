import assert from 'node:assert/strict';
import { currentDetails, loadTestDetails, loadTestSummary } from '../../src/loadtest/describe.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { loadTestStartOptions } from '../../workflows/start.js';

const ref = { namespace: 'default', name: 'example-02' };
const seed: LoadTestSpec = {
  replicas: 5,
  test: { method: 'GET', serviceName: 'nginx', port: 80, path: '/', repeat: 10 },
};

describe('LoadTest descriptions for the Temporal Web UI', function () {
  it('summarises target, method, replicas and requests per runner on one line', function () {
    assert.equal(
      loadTestSummary(ref, seed),
      'LoadTest default/example-02: GET http://nginx.default.svc:80/ · 5 runners × 10 requests',
    );
  });

  it('describes duration, connections and rate when the spec sets them', function () {
    const spec: LoadTestSpec = {
      replicas: 1,
      test: {
        method: 'POST',
        url: 'http://api.example/x',
        port: 80,
        path: '/',
        duration: '30s',
        connections: 8,
        rate: 100,
      },
      thresholds: ['p99 < 250ms'],
    };
    assert.match(
      loadTestSummary(ref, spec),
      /POST http:\/\/api.example\/x · 1 runner × for 30s, 8 connections, 100 req\/s$/,
    );
    assert.match(loadTestDetails(ref, spec), /^- \*\*Thresholds:\*\* p99 < 250ms$/m);
  });

  it('calls a spec that did not validate invalid instead of printing undefined', function () {
    const loadTest = { ...ref, uid: 'u' };
    const desired = { generation: 1, problems: ['spec.test: required'], spec: { replicas: 0, test: {} } };
    const start = loadTestStartOptions({ loadTest, desired }, 'loadtest-operator');
    assert.equal(start.staticSummary, 'LoadTest default/example-02: invalid spec');
    assert.doesNotMatch(start.staticDetails, /undefined/);
    assert.match(start.staticDetails, /\*\*Spec:\*\* invalid/);
  });

  it('puts the state and, for a failed run, the reason first in the current details', function () {
    const details = currentDetails(ref, seed, {
      state: 'failed',
      generation: 2,
      step: 'settled',
      message: 'runner example-02-g2-0 exited with code 1: 10 of 10 requests failed (refused)',
      children: ['example-02-g2-0'],
    });
    const [first, , second] = details.split('\n');
    assert.equal(first, '**State: failed** (generation 2, step settled)');
    assert.equal(second, '**Failed:** runner example-02-g2-0 exited with code 1: 10 of 10 requests failed (refused)');
  });
});
