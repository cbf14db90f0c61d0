/**
 * docker-compose.yml as podman-compose runs it here: podman-compose from test/deploy/ensure-compose.sh, podman on
 * the store and settings of test/testbed/images.sh (where `images.sh operator` leaves the product's image), and
 * the override test/deploy/compose.host-network.yml.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runProgram, type RunResult } from './render.js';

export const COMPOSE_FILE = join(REPO, 'docker-compose.yml');
export const HOST_NETWORK_OVERRIDE = join(REPO, 'test/deploy/compose.host-network.yml');
const IMAGES_SCRIPT = join(REPO, 'test/testbed/images.sh');

/** Runs a script of this repository; a failure throws with its output, so a test fails rather than skips. */
async function script(path: string, args: string[] = []): Promise<string[]> {
  const result = await runProgram('bash', [path, ...args]);
  if (result.code !== 0) throw new Error(`${path} ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return result.stdout.trim().split('\n');
}

/** The podman-compose program, installed on first use. */
export async function ensureCompose(): Promise<string> {
  return (await script(join(REPO, 'test/deploy/ensure-compose.sh'))).at(-1)!;
}

/** Builds the product's image from the Dockerfile (cached by content); its reference. */
export async function buildOperatorImage(): Promise<string> {
  return (await script(IMAGES_SCRIPT, ['operator'])).at(-2)!;
}

/** podman on images.sh's store and settings. */
export function podman(args: string[]): Promise<RunResult> {
  return runProgram('bash', [IMAGES_SCRIPT, 'podman', ...args]);
}

export async function podmanOk(args: string[]): Promise<string> {
  const result = await podman(args);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * A stand-in for the official image `temporalio/temporal:<version>` (no registry can be reached here), built the
 * way that image is (its Dockerfile: the CLI's static binary as /temporal in an empty image, user 1000:1000,
 * entrypoint /temporal), from the same official binary, under the same name.
 */
export async function buildTemporalStandIn(reference: string, temporalBinary: string): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), 'temporal-image-'));
  try {
    await runProgram('cp', [temporalBinary, join(context, 'temporal')]);
    await writeFile(
      join(context, 'passwd'),
      'root:x:0:0:root:/:/sbin/nologin\ntemporal:x:1000:1000::/:/sbin/nologin\n',
    );
    await writeFile(join(context, 'group'), 'root:x:0:\ntemporal:x:1000:\n');
    await writeFile(
      join(context, 'Containerfile'),
      [
        'FROM scratch',
        'LABEL loadtest-operator.stand-in="the official image, built here from the same binary"',
        'COPY passwd group /etc/',
        'COPY temporal /temporal',
        'USER 1000:1000',
        'ENTRYPOINT ["/temporal"]',
        '',
      ].join('\n'),
    );
    await podmanOk(['build', '--pull=never', '--network=none', '-t', reference, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** podman-compose with one project name, docker-compose.yml plus the host-network override, and `env`. */
export class ComposeProject {
  private podmanPath?: string;

  constructor(
    readonly program: string,
    readonly project: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async run(args: string[]): Promise<RunResult> {
    this.podmanPath ??= await this.podmanWrapper();
    return runProgram(
      this.program,
      ['--podman-path', this.podmanPath, '-p', this.project, '-f', COMPOSE_FILE, '-f', HOST_NETWORK_OVERRIDE, ...args],
      { env: { ...process.env, ...this.env } },
    );
  }

  /** Names of the project's containers, running or not. */
  async containers(): Promise<string[]> {
    const filter = `label=io.podman.compose.project=${this.project}`;
    const output = await podmanOk(['ps', '--all', '--filter', filter, '--format', '{{.Names}}']);
    return output.split('\n').filter((line) => line !== '');
  }

  /** Names of the project's pods (podman-compose puts the containers in one). */
  async pods(): Promise<string[]> {
    const output = await podmanOk(['pod', 'ps', '--filter', `name=pod_${this.project}`, '--format', '{{.Name}}']);
    return output.split('\n').filter((line) => line !== '');
  }

  async cleanUp(): Promise<void> {
    if (this.podmanPath !== undefined) await rm(join(this.podmanPath, '..'), { recursive: true, force: true });
  }

  /** podman-compose runs one program for podman: this one runs images.sh's. */
  private async podmanWrapper(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'compose-podman-'));
    const path = join(dir, 'podman');
    await writeFile(path, `#!/bin/sh\nexec bash '${IMAGES_SCRIPT}' podman "$@"\n`);
    await chmod(path, 0o755);
    return path;
  }
}
