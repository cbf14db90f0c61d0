import { strict as assert } from 'node:assert';
import { StartTimeoutError, waitFor } from '../../src/util/process.js';

describe('waitFor (start-up of test bed components)', function () {
  it('names the component, the timeout, its log file and the last error when it never gets ready', async function () {
    const error = await waitFor(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443')), {
      timeoutMs: 50,
      intervalMs: 10,
      what: 'kube-apiserver (log: /tmp/x/logs/kube-apiserver.log)',
    }).catch((caught: unknown) => caught);
    assert.ok(error instanceof StartTimeoutError);
    assert.equal(
      error.message,
      'kube-apiserver (log: /tmp/x/logs/kube-apiserver.log) did not become ready within 0.05s: connect ECONNREFUSED 127.0.0.1:6443',
    );
  });

  it('returns the first truthy answer of the probe', async function () {
    let calls = 0;
    const value = await waitFor(() => Promise.resolve(++calls >= 3 ? 'ready' : undefined), {
      timeoutMs: 5000,
      intervalMs: 1,
      what: 'x',
    });
    assert.deepEqual([value, calls], ['ready', 3]);
  });
});
