/** Temporal settings from the environment and a profile file (@temporalio/envconfig), as src/config.ts reads them. */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadTemporalSettings, TemporalSettingsError } from '../../src/config.js';

describe('Temporal settings', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-settings-'));
    await writeFile(join(dir, 'ca.crt'), 'not really a certificate, but readable');
    await writeFile(
      join(dir, 'temporal.toml'),
      [
        '[profile.cloud]',
        'address = "my-ns.a1b2c.tmprl.cloud:7233"',
        'namespace = "my-ns.a1b2c"',
        'api_key = "secret"',
        '',
        '[profile.cloud.tls]',
        `server_ca_cert_path = "${join(dir, 'ca.crt')}"`,
        '',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('takes address, namespace, API key and TLS from the profile TEMPORAL_PROFILE names', () => {
    const env = { TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'cloud' };
    const settings = loadTemporalSettings(env);
    const config = loadConfig(env);

    assert.equal(config.temporalAddress, 'my-ns.a1b2c.tmprl.cloud:7233');
    assert.equal(config.temporalNamespace, 'my-ns.a1b2c');
    assert.equal(settings.apiKey, 'secret');
    assert.equal(typeof settings.tls, 'object');
  });

  it('lets TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the profile', () => {
    const env = {
      TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'),
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_NAMESPACE: 'ops',
    };
    const config = loadConfig(env);
    assert.equal(config.temporalAddress, 'temporal.example:7233');
    assert.equal(config.temporalNamespace, 'ops');
  });

  it('uses plain gRPC to 127.0.0.1:7233 when nothing is set', () => {
    const env = { TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') };
    assert.equal(loadConfig(env).temporalAddress, '127.0.0.1:7233');
    assert.equal(loadTemporalSettings(env).tls, undefined);
  });

  it('rejects a client certificate without its key, and a profile that does not exist', () => {
    assert.throws(
      () => loadTemporalSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'ca.crt') }),
      (error: Error) => error instanceof TemporalSettingsError && /needs its key/.test(error.message),
    );
    assert.throws(
      () => loadTemporalSettings({ TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'nope' }),
      (error: Error) => error instanceof TemporalSettingsError && /nope/.test(error.message),
    );
  });
});
