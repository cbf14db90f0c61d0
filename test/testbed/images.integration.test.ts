/**
 * The product's container image as a real kubelet runs it, and the pod sandbox image of the test bed's real node:
 * both built by test/testbed/images.sh (podman, no registry), then run with podman the way a kubelet would: the
 * image's own numeric user, a read-only root filesystem with nothing writable mounted, no network; and their
 * archives imported into a containerd of the test's own, as the real node imports them.
 * Needs no test bed: npm run build && npx mocha --no-config dist/test/testbed/images.integration.test.js
 * (the first build takes minutes; later runs reuse the cached image).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RUNNER_IMAGE } from '../../src/config.js';
import { RUNNER_EXIT } from '../../src/runner/contract.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGES_SH = `${ROOT}test/testbed/images.sh`;
const BUILD_TIMEOUT_MS = 30 * 60_000;
/** A container start on a busy 2-core machine, and pause's grace period. */
const TEST_TIMEOUT_MS = 120_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (tests assert on `code`). */
function exec(file: string, args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

async function ok(file: string, args: string[], timeoutMs?: number): Promise<string> {
  const result = await exec(file, args, timeoutMs);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

/** podman on the store and with the settings images.sh builds in. */
const podman = (args: string[], timeoutMs?: number) => exec('bash', [IMAGES_SH, 'podman', ...args], timeoutMs);
const podmanOk = (args: string[], timeoutMs?: number) => ok('bash', [IMAGES_SH, 'podman', ...args], timeoutMs);

/**
 * `podman run` as a kubelet runs a container with readOnlyRootFilesystem: no tmpfs on /tmp, no network, never a
 * pull. `options` go to podman, `command` to the image's entrypoint.
 */
const runArgs = (image: string, command: string[], options: string[] = []) => [
  'run',
  '--rm',
  '--pull=never',
  '--read-only',
  '--read-only-tmpfs=false',
  '--network',
  'none',
  ...options,
  image,
  ...command,
];

interface Built {
  reference: string;
  archive: string;
  /** The image's ID, read from the archive (its config's digest), so that no other run's tag is involved. */
  id: string;
}

/** `images.sh <what>`: the reference and the archive on its last two lines of stdout. */
async function build(what: 'operator' | 'pause'): Promise<Built> {
  const lines = (await ok('bash', [IMAGES_SH, what], BUILD_TIMEOUT_MS)).trimEnd().split('\n');
  const [reference, archive] = lines.slice(-2);
  assert.ok(reference !== undefined && archive !== undefined, `images.sh ${what} printed ${lines.join(' | ')}`);
  assert.ok(existsSync(archive), `images.sh ${what} printed ${archive}, which does not exist`);
  const index = JSON.parse(await ok('tar', ['-xOf', archive, 'index.json'])) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  assert.equal(index.manifests.length, 1);
  const manifest = index.manifests[0]!;
  assert.equal(manifest.annotations?.['org.opencontainers.image.ref.name'], reference, 'the reference in the archive');
  const blob = (digest: string) => `blobs/${digest.replace(':', '/')}`;
  const { config } = JSON.parse(await ok('tar', ['-xOf', archive, blob(manifest.digest)])) as {
    config: { digest: string };
  };
  return { reference, archive, id: config.digest.replace(/^sha256:/, '') };
}

describe('the product image (Dockerfile, built by test/testbed/images.sh operator)', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let image: Built;

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS);
    image = await build('operator');
    const size = await podmanOk(['image', 'inspect', '--format', '{{.Size}}', image.id]);
    console.log(`      image ${image.reference} (${image.id.slice(0, 12)}): ${(Number(size) / 1e6).toFixed(0)} MB`);
  });

  it('is archived under the name containerd gives the default runner image', function () {
    // containerd's CRI reads an unqualified name as docker.io/library/<name>.
    assert.equal(image.reference, `docker.io/library/${DEFAULT_RUNNER_IMAGE}`);
  });

  it('runs as a numeric non-root user, as runAsNonRoot requires', async function () {
    const user = (await podmanOk(['image', 'inspect', '--format', '{{.Config.User}}', image.id])).trim();
    assert.match(user, /^[0-9]+(:[0-9]+)?$/, `USER ${user} is not numeric: a kubelet cannot check runAsNonRoot`);
    assert.notEqual(Number(user.split(':')[0]), 0, 'USER is root');
    const uid = (await podmanOk(runArgs(image.id, [], ['--entrypoint', 'id']))).trim();
    assert.match(uid, /^uid=[1-9][0-9]*\(/, `the container runs as ${uid}`);
  });

  it('prints the CLI help on a read-only root filesystem', async function () {
    const result = await podman(runArgs(image.id, ['--help']));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: loadtest-operator /m);
    assert.match(result.stdout, /^\s+runner\b/m);
  });

  it('starts the runner on a read-only root filesystem: a refused connection ends with its failure code', async function () {
    const result = await podman(runArgs(image.id, ['runner', '--url', 'http://127.0.0.1:9/', '--requests', '1']));
    assert.equal(result.code, RUNNER_EXIT.requestsFailed, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stdout, /refused × 1/, result.stderr);
  });

  it('loads the Temporal SDK native bridge on the image Node, on a read-only root filesystem', async function () {
    const script = "import { Runtime } from '@temporalio/worker'; Runtime.instance(); console.log(process.version);";
    const version = await podmanOk(runArgs(image.id, ['--input-type=module', '-e', script], ['--entrypoint', 'node']));
    const from = /^FROM node:([0-9]+)-/m.exec(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
    assert.ok(from !== null, 'the Dockerfile has no FROM node:<major>-...');
    assert.match(version.trim(), new RegExp(`^v${from[1]}\\.`));
  });

  it('holds the product only: no tests, examples or development dependencies; the workflow bundle is built', async function () {
    const listing = await podmanOk(
      runArgs(image.id, ['-c', 'cd /app && ls -d * dist/* node_modules/* node_modules/@*/*'], ['--entrypoint', 'sh']),
    );
    const paths = new Set(listing.trim().split('\n'));
    for (const absent of ['test', 'examples', 'bench', 'dist/test', 'dist/examples', 'dist/bench']) {
      assert.ok(!paths.has(absent), `the image holds /app/${absent}`);
    }
    for (const present of ['dist/src', 'dist/workflows', 'dist/activities', 'dist/workflow-bundle.js', 'crds']) {
      assert.ok(paths.has(present), `the image lacks /app/${present}`);
    }
    // Packages the lock file marks as needed only for development.
    const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev === true && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
      .map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/typescript'), 'the lock file marks no development packages');
    assert.deepEqual(
      devOnly.filter((path) => paths.has(path)),
      [],
      'development packages in the image',
    );
  });
});

describe('the pod sandbox image (test/testbed/pause, built by test/testbed/images.sh pause)', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let image: Built;

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS);
    image = await build('pause');
  });

  it('is archived under a name containerd keeps as it is', function () {
    assert.match(image.reference, /^localhost\/[a-z0-9-]+:[0-9.]+$/);
  });

  it('exits 0 on SIGTERM (podman stop), before the grace period ends in a SIGKILL', async function () {
    const id = (
      await podmanOk(['run', '--detach', '--pull=never', '--read-only', '--network', 'none', image.id])
    ).trim();
    try {
      await podmanOk(['stop', '--time', '10', id], 60_000);
      const state = await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', id]);
      assert.equal(state.trim(), '0', 'pause did not exit 0 on SIGTERM (137 means it was killed)');
    } finally {
      await podman(['rm', '--force', id]);
    }
  });
});

describe('the archives in containerd (ctr -n k8s.io images import)', function () {
  this.timeout(TEST_TIMEOUT_MS);
  let dir: string;
  let socket: string;
  let containerd: ChildProcess | undefined;

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS);
    await build('operator');
    await build('pause');
    // A containerd of this test's own: its own root, state and socket; no CRI plugin (no CNI, no kubelet).
    dir = mkdtempSync(join(tmpdir(), 'images-containerd-'));
    socket = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        `[grpc]\n  address = "${socket}"`,
        `[ttrpc]\n  address = "${socket}.ttrpc"`,
      ].join('\n'),
    );
    const daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    containerd = daemon;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      daemon.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('containerd successfully booted')) resolve();
      });
      daemon.on('exit', (code) => reject(new Error(`containerd exited ${code}:\n${log}`)));
      daemon.on('error', reject);
    });
  });

  after(async function () {
    if (containerd !== undefined && containerd.exitCode === null) {
      const exited = once(containerd, 'exit');
      containerd.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const what of ['operator', 'pause'] as const) {
    it(`imports the ${what} archive under the reference images.sh printed`, async function () {
      const image = await build(what);
      await ok('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', image.archive]);
      const names = await ok('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'list', '--quiet']);
      assert.ok(
        names.split('\n').includes(image.reference),
        `containerd holds ${names.trim()}, not ${image.reference}`,
      );
    });
  }
});
