/** The operator's settings from the environment: defaults, and a clear error naming a wrong variable. */
import { strict as assert } from 'node:assert';
import { loadConfig } from '../src/config.js';

describe('operator config (src/config.ts)', function () {
  it('watches every namespace unless WATCH_NAMESPACE names one', function () {
    assert.equal(loadConfig({}).watchNamespace, undefined);
    assert.equal(loadConfig({ WATCH_NAMESPACE: '  ' }).watchNamespace, undefined);
    assert.equal(loadConfig({ WATCH_NAMESPACE: 'team-a' }).watchNamespace, 'team-a');
    assert.equal(loadConfig({ WATCH_NAMESPACE: ' team-a\n' }).watchNamespace, 'team-a');
  });

  it('rejects a WATCH_NAMESPACE that cannot be a namespace, naming the variable', function () {
    for (const bad of ['Team-A', 'team_a', '-team', 'team-', 'a'.repeat(64), 'team a', 'default,other']) {
      assert.throws(() => loadConfig({ WATCH_NAMESPACE: bad }), {
        message: `WATCH_NAMESPACE must be a namespace name (lower-case letters, digits and '-', at most 63), got "${bad}"`,
      });
    }
    assert.equal(loadConfig({ WATCH_NAMESPACE: 'a'.repeat(63) }).watchNamespace, 'a'.repeat(63));
  });

  it('leaves the runner start timeout to the workflow unless RUNNER_START_TIMEOUT_MS sets it, and rejects a bad one', function () {
    assert.equal(loadConfig({}).runnerStartTimeoutMs, undefined);
    assert.equal(loadConfig({ RUNNER_START_TIMEOUT_MS: '30000' }).runnerStartTimeoutMs, 30_000);
    assert.throws(() => loadConfig({ RUNNER_START_TIMEOUT_MS: '30s' }), {
      message: 'RUNNER_START_TIMEOUT_MS must be a non-negative integer, got "30s"',
    });
  });

  it('runs 1000 activities at once unless MAX_CONCURRENT_ACTIVITIES says otherwise, and rejects 0 or a bad one', function () {
    assert.equal(loadConfig({}).maxConcurrentActivities, 1000);
    assert.equal(loadConfig({ MAX_CONCURRENT_ACTIVITIES: '50' }).maxConcurrentActivities, 50);
    assert.throws(() => loadConfig({ MAX_CONCURRENT_ACTIVITIES: '0' }), {
      message: 'MAX_CONCURRENT_ACTIVITIES must be at least 1, got "0"',
    });
    assert.throws(() => loadConfig({ MAX_CONCURRENT_ACTIVITIES: 'many' }), {
      message: 'MAX_CONCURRENT_ACTIVITIES must be a non-negative integer, got "many"',
    });
  });

  it('loads the workflow bundle WORKFLOW_BUNDLE names, else the default one', function () {
    assert.equal(loadConfig({}).workflowBundle, undefined);
    assert.equal(loadConfig({ WORKFLOW_BUNDLE: '/bundle.js' }).workflowBundle, '/bundle.js');
  });
});
