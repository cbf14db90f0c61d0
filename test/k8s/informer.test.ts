import type { V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { strict as assert } from 'node:assert';
import { ResilientInformer, WatchStalledError, type InformerOptions } from '../../src/k8s/informer.js';
import { FakeApiServer } from './fake-api-server.js';

describe('ResilientInformer', function () {
  this.timeout(20_000);
  let server: FakeApiServer;
  let informer: ResilientInformer<V1Pod> | undefined;
  const errors: unknown[] = [];

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    errors.length = 0;
  });

  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await server.stop();
  });

  function start(options: InformerOptions = {}) {
    const config = server.kubeConfig();
    const core = config.makeApiClient(CoreV1Api);
    informer = new ResilientInformer<V1Pod>(
      config,
      {
        path: '/api/v1/pods',
        list: async () => {
          const list = await core.listPodForAllNamespaces();
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
        },
      },
      { initialBackoffMs: 10, maxBackoffMs: 40, onError: (error) => errors.push(error), ...options },
    );
    informer.start();
    return informer;
  }

  function next(event: 'add' | 'update' | 'delete'): Promise<V1Pod> {
    return new Promise((resolve) => {
      const off = informer!.on(event, (pod) => {
        off();
        resolve(pod);
      });
    });
  }

  function nextSync(): Promise<readonly V1Pod[]> {
    return new Promise((resolve) => {
      const off = informer!.on('synced', (pods) => {
        off();
        resolve(pods);
      });
    });
  }

  it('lists, then keeps its cache current from watch events and tells handlers', async () => {
    server.put('a');
    const pods = start();
    await pods.waitForSync();
    assert.deepEqual(
      pods.list().map((pod) => pod.metadata?.name),
      ['a'],
    );
    await server.until(() => server.watches === 1);

    const added = next('add');
    server.put('b');
    assert.equal((await added).metadata?.name, 'b');
    const updated = next('update');
    server.put('b', { changed: 'yes' });
    assert.equal((await updated).metadata?.labels?.changed, 'yes');
    const deleted = next('delete');
    server.remove('a');
    assert.equal((await deleted).metadata?.name, 'a');
    assert.equal(pods.get('default', 'a'), undefined);
    assert.equal(pods.get('default', 'b')?.metadata?.labels?.changed, 'yes');
  });

  it('re-lists at once when the watch answers 410 Gone', async () => {
    server.watchMode = 'gone';
    const pods = start();
    await pods.waitForSync();
    await server.until(() => server.lists >= 2);
    server.watchMode = 'events';
    assert.deepEqual(errors, [], '410 is routine, not an error');
  });

  it('keeps retrying with growing backoff while the API server fails, then recovers', async () => {
    server.failLists = 3;
    server.put('a');
    const retries: number[] = [];
    const pods = start({ onError: (_error, retryIn) => retries.push(retryIn) });
    await pods.waitForSync();

    assert.deepEqual(retries, [10, 20, 40]);
    assert.equal(pods.get('default', 'a')?.metadata?.name, 'a');
  });

  it('abandons a watch that stays silent past its timeout and re-lists', async () => {
    server.watchMode = 'silent';
    const pods = start({ watchTimeoutSeconds: 1, stallGraceMs: 100 });
    await pods.waitForSync();
    server.put('missed');
    const resynced = nextSync();

    const items = await resynced;
    assert.ok(errors.some((error) => error instanceof WatchStalledError));
    assert.deepEqual(
      items.map((pod) => pod.metadata?.name),
      ['missed'],
    );
    assert.ok(pods.get('default', 'missed'));
  });

  it('reports objects deleted while it was not told as deletions when it re-lists', async () => {
    server.put('a');
    server.put('b');
    const pods = start();
    await pods.waitForSync();
    await server.until(() => server.watches === 1);

    server.remove('b', true);
    const deleted = next('delete');
    pods.relist();

    assert.equal((await deleted).metadata?.name, 'b');
    assert.deepEqual(
      pods.list().map((pod) => pod.metadata?.name),
      ['a'],
    );
  });

  it('re-lists every relistIntervalMs and replays every object to synced handlers', async () => {
    server.put('a');
    const pods = start({ relistIntervalMs: 200 });
    await pods.waitForSync();

    const replay = await nextSync();
    assert.deepEqual(
      replay.map((pod) => pod.metadata?.name),
      ['a'],
    );
    assert.ok(server.lists >= 2);
  });
});
