/**
 * A running test bed is reused only when it runs what this clone would start and answers. These cases need
 * no test bed: the state folder is written by hand and the endpoints are closed ports.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReusable, TestbedReuseError, testbedUp } from '../testbed/lifecycle.js';
import {
  envFile,
  fingerprintFile,
  testbedFingerprint,
  type TestbedEnv,
  type TestbedFingerprint,
} from '../testbed/state.js';
import { closedPort } from '../support/raw-server.js';

const refusal = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof TestbedReuseError, `a TestbedReuseError, got ${String(error)}`);
  assert.match(error.message, pattern);
  assert.match(error.message, /Stop it with `npm run testbed -- down`/);
  return true;
};

describe('reusing a running test bed', () => {
  let stateDir: string;
  let env: TestbedEnv;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'testbed-reuse-'));
    const kubeconfig = join(stateDir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        clusters: [
          { cluster: { server: `https://127.0.0.1:${await closedPort()}`, 'certificate-authority-data': '' } },
        ],
        users: [{ user: { token: 'admin' } }],
      }),
    );
    env = {
      KUBECONFIG: kubeconfig,
      TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_UI_URL: '',
      TEMPORAL_CLI: '/nowhere/temporal',
      // A live process, so that it looks running.
      TESTBED_PID: String(process.pid),
      TESTBED_DIR: stateDir,
      TESTBED_TOOLBOX_IMAGE: 'localhost/toolbox:none',
    };
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  const record = (fingerprint: Partial<TestbedFingerprint>) =>
    writeFile(fingerprintFile(stateDir), JSON.stringify({ ...testbedFingerprint(), ...fingerprint }));

  it('refuses one that recorded no fingerprint', async () => {
    await assert.rejects(checkReusable(stateDir, env), refusal(/recorded no .*fingerprint\.json/));
  });

  it("refuses one whose code differs from this clone's", async () => {
    await record({ code: 'f'.repeat(64) });
    await assert.rejects(checkReusable(stateDir, env), refusal(/code: running f{64}, this clone's is [0-9a-f]{64}/));
  });

  it('refuses one that runs other versions of kube-apiserver and etcd', async () => {
    await record({ kubernetes: 'v1.33.0', etcd: '3.5.0' });
    await assert.rejects(
      checkReusable(stateDir, env),
      refusal(/kubernetes: running v1\.33\.0, this clone's is v1\.\d+\.\d+; etcd: running 3\.5\.0/),
    );
  });

  it('refuses one whose apiserver does not answer /readyz', async () => {
    await record({});
    await assert.rejects(
      checkReusable(stateDir, env),
      refusal(/kube-apiserver is not ready .*\/readyz: .*ECONNREFUSED/),
    );
  });

  it('is what testbedUp does with a running test bed: it refuses instead of returning it', async () => {
    await record({ code: 'f'.repeat(64) });
    await writeFile(envFile(stateDir), JSON.stringify(env));
    await assert.rejects(testbedUp(stateDir), refusal(/code: running f{64}/));
  });
});
