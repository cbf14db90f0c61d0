/**
 * The CLI as people and CI meet it, without any server: help for every command, and bad input answered with
 * one line naming the problem and exit code 2 (no stack trace).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/process.js';
import { runCli, type CliResult } from './cli-process.js';

const VALID = `apiVersion: example.org/v1
kind: LoadTest
metadata:
  name: checkout
  namespace: shop
spec:
  replicas: 2
  test:
    serviceName: checkout
    repeat: 10
`;

/** Exactly one line on stderr, starting "error:", with no stack trace. */
function assertOneLineError(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

describe('loadtest-operator CLI', function () {
  this.timeout(60_000);
  let dir: string;
  const file = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-test-'));
    await writeFile(file('valid.yaml'), VALID);
    await writeFile(
      file('bad-yaml.yaml'),
      'apiVersion: example.org/v1\nkind: LoadTest\nmetadata:\n  name: x\n spec: [\n',
    );
    await writeFile(
      file('bad-spec.yaml'),
      VALID.replace('replicas: 2', 'replicas: 0').replace('repeat: 10', 'repeat: 10\n    duration: 5s'),
    );
    await writeFile(file('percent-p99.yaml'), `${VALID}  thresholds: ['p99 < 5%']\n`);
    await writeFile(file('pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n');
    await writeFile(file('two.yaml'), `${VALID}---\n${VALID}`);
    await writeFile(file('no-name.yaml'), VALID.replace('  name: checkout\n', ''));
    await writeFile(
      file('kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: test-bed, context: { cluster: c, user: u, namespace: team-a } }]',
        'current-context: test-bed',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help for the program and every command, exiting 0', async () => {
    const commands = ['run', 'status', 'list', 'watch', 'cancel', 'runner', 'worker', 'watcher'];
    const results = await Promise.all([runCli(['--help']), ...commands.map((command) => runCli([command, '--help']))]);

    const [program, ...perCommand] = results;
    assert.equal(program.code, 0);
    for (const command of commands) assert.match(program.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    for (const [index, result] of perCommand.entries()) {
      assert.equal(result.code, 0, `${commands[index]} --help`);
      assert.match(result.stdout, new RegExp(`^Usage: loadtest-operator ${commands[index]}\\b`));
    }
    const run = perCommand[0]!.stdout;
    assert.match(run, /--local/);
    assert.match(run, /-n, --namespace/);
    assert.match(run, /Exit codes: 0 finished; 1 failed or a threshold breached; 2 bad input/);
  });

  describe('bad input: one line saying what is wrong, exit code 2', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ['a missing file', () => ['run', file('missing.yaml'), '--local'], /cannot read .*missing\.yaml: no such file/],
      ['invalid YAML', () => ['run', file('bad-yaml.yaml'), '--local'], /bad-yaml\.yaml: invalid YAML at line 5/],
      [
        'a spec the CRD would reject',
        () => ['run', file('bad-spec.yaml'), '--local'],
        /invalid LoadTest "checkout": spec\.replicas: replicas must be at least 1; spec\.test: set at most one of/,
      ],
      [
        'a threshold whose unit does not fit its metric, before any request is sent',
        () => ['run', file('percent-p99.yaml'), '--local', '--target', 'http://127.0.0.1:9/'],
        /spec\.thresholds\.0: latency thresholds \(p50, p90, p95, p99, p99\.9, max, mean\) take ms, s or us/,
      ],
      [
        'another kind',
        () => ['run', file('pod.yaml')],
        /expected a LoadTest \(apiVersion example\.org\/v1\), found Pod/,
      ],
      ['two LoadTests in one file', () => ['run', file('two.yaml')], /expected one LoadTest, found 2/],
      ['a manifest without a name', () => ['run', file('no-name.yaml')], /metadata\.name is missing/],
      [
        'a namespace other than the manifest says',
        () => ['run', file('valid.yaml'), '-n', 'other'],
        /namespace "shop" does not match --namespace "other"/,
      ],
      [
        'a Service target in local mode without --target',
        () => ['run', file('valid.yaml'), '--local'],
        /serviceName "checkout" is a Kubernetes Service; with --local, pass --target URL/,
      ],
      [
        'a --target that is no http URL',
        () => ['run', file('valid.yaml'), '--local', '--target', 'ftp://host'],
        /--target "ftp:\/\/host" must start with http/,
      ],
      ['an unknown flag', () => ['status', 'x', '--bogus'], /unknown option '--bogus'/],
      ['a missing argument', () => ['watch'], /missing required argument 'name'/],
      ['an output format that does not exist', () => ['list', '-o', 'xml'], /argument 'xml' is invalid/],
      ['an unknown command', () => ['lst'], /unknown command 'lst' \(did you mean one of list, ls\?\)/],
      ['an unknown option before any command', () => ['--bogus'], /unknown option '--bogus'/],
      ['an unknown shell for completion', () => ['completion', 'fish'], /'fish' is invalid .* bash, zsh/],
      [
        'a --kubeconfig that does not exist',
        () => ['list', '--kubeconfig', file('missing-kubeconfig')],
        /cannot read kubeconfig .*missing-kubeconfig: ENOENT/,
      ],
      [
        'an unknown --context',
        () => ['status', 'x', '--kubeconfig', file('kubeconfig'), '--context', 'nope'],
        /context "nope" is not in the kubeconfig \(contexts: test-bed\)/,
      ],
    ];
    for (const [what, args, pattern] of cases) {
      it(`rejects ${what}`, async () => {
        const result = await runCli(args());
        assert.equal(result.code, 2, result.stderr);
        assertOneLineError(result, pattern);
        assert.equal(result.stdout, '');
      });
    }
  });

  it('says in one line that neither Temporal nor Kubernetes can be reached, with exit code 3', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const result = await runCli(['list', '--temporal-address', address], {
      KUBECONFIG: file('no-such-kubeconfig'),
      KUBERNETES_SERVICE_HOST: undefined,
    });

    assert.equal(result.code, 3);
    assertOneLineError(
      result,
      new RegExp(`cannot reach Temporal at ${address}.*TEMPORAL_ADDRESS.*; and no Kubernetes cluster`),
    );
  });

  it('prints its version with --version, exiting 0', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
