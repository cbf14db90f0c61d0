/**
 * The external programs that tests and benchmarks run, found the way test/testbed/ensure-packages.sh looks for
 * them: on PATH, or in the sbin folders where Debian puts daemons (nginx is /usr/sbin/nginx, which a normal
 * user's PATH lacks). Every test and benchmark finds its programs here, so the lookup lives in one place.
 *
 * A missing program is an error that names it and the script or package that installs it: tests never skip
 * because a program is missing (mocha runs with --forbid-pending).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The script that installs the Debian packages of the tests (`npm test` runs it first, as `pretest`). */
export const PACKAGES_SCRIPT = 'test/testbed/ensure-packages.sh';

/** Where Debian installs daemons, searched after PATH as ensure-packages.sh does for nginx. */
const SBIN_FOLDERS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Each program, the Debian package that has it, and whether ensure-packages.sh installs that package. */
const TOOLS = {
  nginx: { debianPackage: 'nginx-light', installedBySetup: true },
  openssl: { debianPackage: 'openssl', installedBySetup: true },
  wrk: { debianPackage: 'wrk', installedBySetup: true },
  chromium: { debianPackage: 'chromium', installedBySetup: true },
  // Preinstalled on the development machines (Google Cloud SDK's package of that name).
  kubectl: { debianPackage: 'kubectl', installedBySetup: false },
  // The benchmarks' CPU-time meter: the program, not the shell keyword.
  time: { debianPackage: 'time', installedBySetup: false },
  taskset: { debianPackage: 'util-linux', installedBySetup: false },
  setpriv: { debianPackage: 'util-linux', installedBySetup: false },
} as const;

export type ToolName = keyof typeof TOOLS;

export class MissingToolError extends Error {}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folders searched, in order: PATH (as given), then the sbin folders. */
export function searchPath(pathVariable = process.env.PATH ?? ''): string[] {
  const onPath = pathVariable.split(delimiter).filter((folder) => folder !== '');
  return [...onPath, ...SBIN_FOLDERS.filter((folder) => !onPath.includes(folder))];
}

/** The absolute path of `name`, or undefined when it is in none of the searched folders. */
export function findTool(name: ToolName, pathVariable?: string): string | undefined {
  for (const folder of searchPath(pathVariable)) {
    const candidate = join(folder, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** How to install `name`, for error messages. */
export function installHint(name: ToolName): string {
  const { debianPackage, installedBySetup } = TOOLS[name];
  return installedBySetup
    ? `run \`bash ${PACKAGES_SCRIPT}\` (it installs the Debian package ${debianPackage}; \`npm test\` runs it first)`
    : `install the Debian package ${debianPackage} (apt-get install ${debianPackage})`;
}

/** The absolute path of `name`; throws a MissingToolError saying what is missing and how to install it. */
export function requireTool(name: ToolName, pathVariable?: string): string {
  const found = findTool(name, pathVariable);
  if (found !== undefined) return found;
  const searched = searchPath(pathVariable).join(':');
  throw new MissingToolError(`${name} is not installed (looked in ${searched}): ${installHint(name)}`);
}
