/**
 * The operator's Kubernetes clients reuse their connections to the real kube-apiserver (src/k8s/config.ts): the
 * library alone opens a TCP connection, with a full TLS handshake, for every call.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { createKubernetes, loadKubeConfig } from '../../src/k8s/index.js';

/** Counts the client sockets this process opens while `work` runs (Node's `net.client.socket` channel). */
async function socketsOpenedBy(work: () => Promise<void>): Promise<number> {
  let opened = 0;
  const count = () => void opened++;
  diagnostics.subscribe('net.client.socket', count);
  try {
    await work();
  } finally {
    diagnostics.unsubscribe('net.client.socket', count);
  }
  return opened;
}

describe('Kubernetes API connections', function () {
  this.timeout(60_000);

  const fiveReads = (config: KubeConfig) => async () => {
    const { pods } = createKubernetes(config);
    for (let call = 0; call < 5; call++) await pods.list('default', 'app=none');
  };

  it('five calls in a row share one connection', async () => {
    const config = loadKubeConfig(process.env.KUBECONFIG);
    assert.equal(await socketsOpenedBy(fiveReads(config)), 1);
  });

  it('(the library alone opens one per call: what the reuse saves)', async () => {
    const config = new KubeConfig();
    config.loadFromFile(process.env.KUBECONFIG!);
    assert.equal(await socketsOpenedBy(fiveReads(config)), 5);
  });
});
