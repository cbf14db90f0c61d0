/**
 * docker-compose.yml brings up what it promises: podman-compose (as a user without Docker runs it) starts
 * Temporal, the worker and the watcher, and a LoadTest applied to the test bed's cluster runs to finished through
 * them (its runner pods run on the test bed's node). The images are those the file names: the product's, built
 * from the Dockerfile by test/testbed/images.sh, and a stand-in for the official Temporal image built from the
 * same binary under the same name (no registry can be reached here). The containers share the host's network
 * (test/deploy/compose.host-network.yml) to reach the API server at 127.0.0.1. Nothing of it is left afterwards.
 */
import { Connection, Client } from '@temporalio/client';
import { strict as assert } from 'node:assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import { ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/util/process.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  kubectl,
  loadTestManifest,
  REPO,
  waitForJsonPath,
} from '../operator/cluster.js';
import {
  buildOperatorImage,
  buildTemporalStandIn,
  ComposeProject,
  ensureCompose,
  podman,
  podmanOk,
} from './compose.js';

const ARTIFACTS = join(REPO, 'test/artifacts/deploy');

describe('docker-compose.yml with podman-compose', function () {
  this.timeout(240_000);
  const namespace = `compose-${process.pid}`;
  let compose: ComposeProject;
  let temporalAddress: string;
  let server: CountingServer;

  before(async function () {
    this.timeout(30 * 60_000); // cold: podman-compose's install and the image build (a few minutes each)
    const [program, operatorImage, temporalCli] = await Promise.all([
      ensureCompose(),
      buildOperatorImage(),
      ensureTemporalCli(),
    ]);
    assert.equal(operatorImage, 'docker.io/library/loadtest-operator:dev');
    await buildTemporalStandIn(`docker.io/temporalio/temporal:${TEMPORAL_CLI_VERSION}`, temporalCli);

    await ensureCrd();
    await createNamespace(namespace);
    server = new CountingServer();
    await server.expose(namespace, 'nginx');

    const [port, uiPort] = [await freePort(), await freePort()];
    temporalAddress = `127.0.0.1:${port}`;
    compose = new ComposeProject(program, `ltcompose${process.pid}`, {
      KUBECONFIG: process.env.KUBECONFIG, // the test bed's: the file mounts it into the worker and the watcher
      LOADTEST_COMPOSE_TEMPORAL_PORT: String(port),
      LOADTEST_COMPOSE_UI_PORT: String(uiPort),
    });
    const up = await compose.run(['up', '--detach', '--no-build']);
    assert.equal(up.code, 0, `podman-compose up:\n${up.stdout}\n${up.stderr}`);
  });

  after(async function () {
    this.timeout(120_000);
    const problems: string[] = [];
    if (compose !== undefined) {
      await mkdir(ARTIFACTS, { recursive: true });
      for (const name of await compose.containers()) {
        const logs = await podman(['logs', name]);
        await writeFile(join(ARTIFACTS, `${name}.log`), logs.stdout + logs.stderr);
      }
      const down = await compose.run(['down', '--volumes', '--timeout', '20']);
      await compose.cleanUp();
      if (down.code !== 0) problems.push(`podman-compose down failed:\n${down.stdout}\n${down.stderr}`);
      const [containers, pods] = [await compose.containers(), await compose.pods()];
      if (containers.length + pods.length > 0) {
        problems.push(`left after podman-compose down: containers ${containers.join(', ')}; pods ${pods.join(', ')}`);
      }
    }
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    assert.deepEqual(problems, []);
  });

  it('starts Temporal, the worker and the watcher from the images the file names', async function () {
    const filter = `label=io.podman.compose.project=${compose.project}`;
    const containers = JSON.parse(await podmanOk(['ps', '--filter', filter, '--format', 'json'])) as Array<{
      Image: string;
      State: string;
      Labels: Record<string, string>;
    }>;
    const running = containers.map((c) => `${c.Labels['com.docker.compose.service']} ${c.Image} ${c.State}`);
    assert.deepEqual(running.sort(), [
      `temporal docker.io/temporalio/temporal:${TEMPORAL_CLI_VERSION} running`,
      'watcher docker.io/library/loadtest-operator:dev running',
      'worker docker.io/library/loadtest-operator:dev running',
    ]);
  });

  it('runs a LoadTest applied to the cluster to finished, as a workflow on its Temporal', async function () {
    await apply(loadTestManifest(namespace, 'composed', { replicas: 2, test: { serviceName: 'nginx', repeat: 3 } }));
    await waitForJsonPath('ld/composed', namespace, '{.status.state}', 'finished', 180);
    assert.equal(server.requests, 6);

    const uid = await kubectl(['get', 'ld/composed', '-n', namespace, '-o', 'jsonpath={.metadata.uid}']);
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const client = new Client({ connection, namespace: 'default' });
      const workflowId = loadTestWorkflowId({ namespace, name: 'composed', uid });
      const description = await client.workflow.getHandle(workflowId).describe();
      assert.equal(description.taskQueue, 'loadtest-operator');
    } finally {
      await connection.close();
    }
  });
});
