/**
 * How many CPUs this process may use: what a runner pod was given. `os.availableParallelism()` (libuv's
 * uv_available_parallelism) counts the CPUs of the affinity mask and, since libuv 1.49 (Node 22.10 / 23.1),
 * also the cgroup v1/v2 CPU quota; the quota in /sys/fs/cgroup/cpu.max is read here as well, so that a runtime
 * whose libuv predates that still sees a pod's `limits.cpu`. A fractional quota rounds up (1.5 CPUs → 2 threads):
 * the second thread then shares the quota rather than leave half a CPU unused.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs allowed by a cgroup v2 `cpu.max` text ("max 100000" or "150000 100000"), or undefined when unlimited. */
export function cpusFromCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? Math.max(1, Math.ceil(cpus)) : undefined;
}

export function availableCpus(cpuMaxFile = '/sys/fs/cgroup/cpu.max'): number {
  let quota: number | undefined;
  try {
    quota = cpusFromCpuMax(readFileSync(cpuMaxFile, 'utf8'));
  } catch {
    // no cgroup v2 file here (a laptop, cgroup v1): availableParallelism() alone
  }
  return Math.max(1, Math.min(availableParallelism(), quota ?? Number.POSITIVE_INFINITY));
}
