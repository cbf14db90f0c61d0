/**
 * docker-compose.yml runs the Temporal that the tests run: the official image of the Temporal CLI version that
 * src/temporal/dev-server.ts installs, with the project's search attributes; it says which images a user gets;
 * and the override that test/deploy/compose.integration.test.ts adds changes only the network and the ports.
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../src/loadtest/search-attributes.js';
import { TEMPORAL_CLI_VERSION } from '../../src/temporal/dev-server.js';
import { COMPOSE_FILE, HOST_NETWORK_OVERRIDE } from './compose.js';

interface ComposeFile {
  services: Record<string, { image?: string; command?: string[]; network_mode?: string }>;
}

/** The flags that only place the server (address and ports): what the override may change. */
const PLACEMENT = /^--(ip|port|ui-port)=/;

describe('docker-compose.yml', function () {
  let text: string;
  let compose: ComposeFile;
  let override: ComposeFile;

  before(async function () {
    text = await readFile(COMPOSE_FILE, 'utf8');
    compose = parse(text) as ComposeFile;
    override = parse(await readFile(HOST_NETWORK_OVERRIDE, 'utf8')) as ComposeFile;
  });

  it('runs the official image of the Temporal CLI the tests use, and says so', function () {
    const image = `temporalio/temporal:${TEMPORAL_CLI_VERSION}`;
    assert.equal(compose.services.temporal?.image, image);
    assert.match(text, new RegExp(`^#.*${image.replace(/[.]/g, '\\.')} from Docker Hub`, 'm'));
    assert.match(text, /^# +worker, watcher +loadtest-operator:dev, built from this repository's Dockerfile/m);
    for (const service of ['worker', 'watcher'])
      assert.equal(compose.services[service]?.image, 'loadtest-operator:dev');
  });

  it("registers the project's search attributes on the dev server", function () {
    const flags = (compose.services.temporal?.command ?? []).filter((arg) => arg.startsWith('--search-attribute='));
    assert.deepEqual(
      flags,
      SEARCH_ATTRIBUTE_DEFINITIONS.map(({ name, type }) => `--search-attribute=${name}=${type}`),
    );
  });

  it("the test's host-network override keeps the Temporal command but for its address and ports", function () {
    const withoutPlacement = (command: string[] | undefined) => (command ?? []).filter((arg) => !PLACEMENT.test(arg));
    assert.deepEqual(
      withoutPlacement(override.services.temporal?.command),
      withoutPlacement(compose.services.temporal?.command),
    );
    for (const service of ['temporal', 'worker', 'watcher']) {
      assert.equal(override.services[service]?.network_mode, 'host', service);
    }
  });
});
