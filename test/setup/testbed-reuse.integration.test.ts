/** The reuse check against the real running test bed: it accepts it, and refuses it when a probe fails. */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReusable, TestbedReuseError } from '../testbed/lifecycle.js';
import { fingerprintFile, requireTestbedEnv, type TestbedEnv } from '../testbed/state.js';
import { closedPort } from '../support/raw-server.js';

describe('reusing the running test bed', () => {
  let running: TestbedEnv;
  let copy: string;

  before(async () => {
    running = requireTestbedEnv();
    // A copy of its state folder's fingerprint, beside kubeconfigs the tests may spoil.
    copy = await mkdtemp(join(tmpdir(), 'testbed-reuse-'));
    await copyFile(fingerprintFile(running.TESTBED_DIR), fingerprintFile(copy));
  });
  after(() => rm(copy, { recursive: true, force: true }));

  it('accepts it: same code and versions, apiserver ready, Temporal serving', async () => {
    await checkReusable(running.TESTBED_DIR, running);
  });

  it('refuses it when the apiserver rejects the admin credentials', async () => {
    const kubeconfig = JSON.parse(await readFile(running.KUBECONFIG, 'utf8')) as {
      users: Array<{ user: { token: string } }>;
    };
    kubeconfig.users[0]!.user.token = 'not-the-admin-token';
    const spoiled = join(copy, 'kubeconfig');
    await writeFile(spoiled, JSON.stringify(kubeconfig));
    await assert.rejects(
      checkReusable(copy, { ...running, KUBECONFIG: spoiled }),
      (error: unknown) => error instanceof TestbedReuseError && /\/readyz answered 401/.test(error.message),
    );
  });

  it('refuses it when Temporal does not answer at its address', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    await assert.rejects(
      checkReusable(copy, { ...running, TEMPORAL_ADDRESS: address }),
      (error: unknown) =>
        error instanceof TestbedReuseError && error.message.includes(`Temporal at ${address} does not answer`),
    );
  });
});
