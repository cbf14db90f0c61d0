/** Reading a LoadTest manifest as kubectl would, and pointing a local run at --target. */
import { strict as assert } from 'node:assert';
import { parseLoadTestManifest, withTarget } from '../../src/cli/load-file.js';

const SERVICE = `apiVersion: example.org/v1
kind: LoadTest
metadata: {name: checkout, labels: {team: shop}}
spec:
  replicas: 3
  test: {serviceName: checkout, port: 8080, path: /cart?x=1, repeat: 5}
`;

describe('LoadTest manifests', () => {
  it('fills in the CRD defaults and the namespace, and keeps the spec as written for the cluster', () => {
    const manifest = parseLoadTestManifest(SERVICE, 'f.yaml', 'shop');

    assert.equal(manifest.namespace, 'shop');
    assert.equal(manifest.spec.test.method, 'GET');
    assert.deepEqual(manifest.labels, { team: 'shop' });
    assert.deepEqual(manifest.specAsWritten, {
      replicas: 3,
      test: { serviceName: 'checkout', port: 8080, path: '/cart?x=1', repeat: 5 },
    });
  });

  it('skips other documents of a multi-document file', () => {
    const manifest = parseLoadTestManifest(
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n${SERVICE}`,
      'f',
    );

    assert.equal(manifest.name, 'checkout');
    assert.equal(manifest.namespace, 'default');
  });

  it('sends local runs to --target in place of the Service, keeping the request path', () => {
    const manifest = parseLoadTestManifest(SERVICE, 'f');

    const local = withTarget(manifest, 'f', 'http://127.0.0.1:9000');
    const explicit = withTarget(manifest, 'f', 'http://127.0.0.1:9000/health');

    assert.equal(local.spec.test.url, 'http://127.0.0.1:9000/cart?x=1');
    assert.equal(local.spec.test.serviceName, undefined);
    assert.equal(explicit.spec.test.url, 'http://127.0.0.1:9000/health');
  });

  it('replaces only the host of spec.test.url with --target', () => {
    const manifest = parseLoadTestManifest(
      SERVICE.replace('serviceName: checkout, port: 8080, path: /cart?x=1', 'url: "https://shop.example/api?q=2"'),
      'f',
    );

    assert.equal(withTarget(manifest, 'f').spec.test.url, 'https://shop.example/api?q=2');
    assert.equal(withTarget(manifest, 'f', 'http://localhost:3000').spec.test.url, 'http://localhost:3000/api?q=2');
  });
});
