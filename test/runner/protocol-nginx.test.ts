/** The fast path against a real nginx: the server most runner targets will look like. */
import assert from 'node:assert/strict';
import { runRunner } from '../../src/runner/run.js';
import type { RunOptions } from '../../src/runner/plan.js';
import { startNginx, type NginxServer } from '../support/nginx.js';

const LARGE_FILE_BYTES = 3 * 1024 * 1024 + 17;

describe('runner fast path against nginx', function () {
  let nginx: NginxServer;

  // Without nginx this fails, naming the script that installs it: a missing server is not a pass.
  before(async () => {
    nginx = await startNginx({
      keepaliveRequests: 7,
      http: 'types { text/plain txt; } gzip on; gzip_min_length 0; gzip_types text/plain;',
      server: `
        location = / { return 200 "ok"; }
        location = /empty { return 204; }
        location = /missing { return 404; }
        location = /moved { return 301 /; }
        location /files/ { }
        location /slow/ { limit_rate 64k; }
      `,
      files: {
        'files/large.bin': Buffer.alloc(LARGE_FILE_BYTES, 0x5a),
        'files/text.txt': 'compress me '.repeat(500),
        'slow/large.bin': Buffer.alloc(LARGE_FILE_BYTES, 0x5a),
      },
    });
  });

  after(async () => nginx?.stop());

  const run = (path: string, options: Partial<RunOptions> = {}) =>
    runRunner({ url: `${nginx.origin}${path}`, method: 'GET', requests: 50, connections: 4, ...options });

  it('completes every request although nginx closes each connection after 7 requests', async () => {
    const { summary } = await run('/');
    assert.deepEqual(summary.status, { '200': 50 });
    assert.deepEqual(summary.errors, {});
  });

  it('reads gzip-compressed chunked responses', async () => {
    const { summary } = await run('/files/text.txt', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.deepEqual(summary.status, { '200': 50 });
    assert.equal(summary.failed, 0);
  });

  it('reads large static files completely', async () => {
    const { summary } = await run('/files/large.bin', { requests: 6 });
    assert.deepEqual(summary.status, { '200': 6 });
    assert.ok(summary.bytesRead >= 6 * LARGE_FILE_BYTES);
  });

  it('expects no body in HEAD responses that announce one', async () => {
    const { summary } = await run('/files/large.bin', { method: 'HEAD' });
    assert.deepEqual(summary.status, { '200': 50 });
    assert.ok(summary.bytesRead < 50 * 1000, 'no body bytes were read');
  });

  it('counts 204, 301 and 404 by status, failing only the unaccepted ones', async () => {
    assert.deepEqual((await run('/empty')).summary.status, { '204': 50 });
    const moved = await run('/moved');
    assert.deepEqual(moved.summary.status, { '301': 50 });
    assert.equal(moved.summary.failed, 0);
    const missing = await run('/missing');
    assert.deepEqual(missing.summary.status, { '404': 50 });
    assert.equal(missing.summary.failed, 50);
  });

  it('keeps pipelined requests in order and labels the summary', async () => {
    const { summary } = await run('/', { requests: 400, pipelining: 8 });
    assert.deepEqual(summary.status, { '200': 400 });
    assert.equal(summary.pipelining, 8);
  });

  it('times out a body that nginx sends too slowly', async () => {
    const { summary } = await run('/slow/large.bin', { requests: 4, connections: 2, timeoutMs: 200 });
    assert.deepEqual(summary.errors, { timeout: 4 });
    assert.ok(summary.bytesRead > 0, 'part of the body arrived');
  });
});
