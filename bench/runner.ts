/**
 * Throughput of the runner against autocannon and wrk, on the same nginx, same connections, same duration.
 *
 *   npm run bench:runner [-- --duration 5 --rounds 5 --connections 16,64 --contenders runner,autocannon,wrk]
 *
 * nginx (worker_processes 1, access_log off, keepalive_requests raised, 2-byte body) is pinned to core 0 and
 * each client in turn to core 1, alternating A B C A B C so that drift of the machine hits every client alike.
 * Contender "runner-undici" adds the runner on its undici transport, for comparison with the fast path.
 * Contender "runner-threads" is the threaded runner (issue 18) given both cores (taskset 0,1, so its default
 * thread count is 2, sharing core 0 with nginx): its row compares requests per CPU second with the one-thread
 * runner's, the figure that says what a pod's extra CPUs buy; its requests/s is bounded by nginx on one core.
 *
 * Besides requests/s, each client's CPU time per request (user + system, from GNU time, start-up
 * included) is reported: on a shared machine, a loaded core 0 slows nginx and every client's requests/s with
 * it, while CPU per request still says how fast a client would go if it were the bottleneck.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/support/nginx.js';
import { findTool, PACKAGES_SCRIPT, requireTool, type ToolName } from '../test/support/tools.js';

const SERVER_CPU = '0';
const CLIENT_CPU = '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const AUTOCANNON = `${ROOT}node_modules/.bin/autocannon`;

interface Measurement {
  rps: number;
  /** Threads the runner used (runner contenders only). */
  threads?: number;
  /** Client CPU seconds (user + system) over the whole process. */
  cpuSeconds: number;
  /** Requests completed, to turn CPU time into CPU per request. */
  requests: number;
}

interface ClientRun {
  stdout: string;
  cpuSeconds: number;
}

type Contender = (url: string, connections: number, seconds: number) => Promise<Measurement>;

/** Runs a client on the client core (or `cpus`) under GNU time, which reports its CPU time on stderr. */
function pinned(command: string, args: string[], cpus = CLIENT_CPU): Promise<ClientRun> {
  const timed = ['-f', 'cpu %U %S', requireTool('taskset'), '-c', cpus, command, ...args];
  return new Promise((resolve, reject) => {
    execFile(requireTool('time'), timed, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const cpu = /cpu ([0-9.]+) ([0-9.]+)/.exec(stderr);
      // The runner exits with 1 when some requests failed; its output is still a result.
      if ((error !== null && error.code !== 1) || cpu === null) {
        reject(new Error(`${command} failed: ${error?.message ?? stderr}`));
      } else {
        resolve({ stdout, cpuSeconds: Number(cpu[1]) + Number(cpu[2]) });
      }
    });
  });
}

const runner =
  (transport: 'socket' | 'undici', cpus = CLIENT_CPU, threads: string[] = ['--threads', '1']): Contender =>
  async (url, connections, seconds) => {
    const args = ['--url', url, '--connections', String(connections), '--duration', `${seconds}s`, ...threads];
    const command = [CLI, 'runner', ...args, '--transport', transport, '--output', 'json'];
    const run = await pinned(process.execPath, command, cpus);
    const output = JSON.parse(run.stdout) as { results: { rps: number; completed: number }; threads: number };
    const { results } = output;
    return { rps: results.rps, cpuSeconds: run.cpuSeconds, requests: results.completed, threads: output.threads };
  };

const CONTENDERS: Record<string, Contender> = {
  runner: runner('socket'),
  'runner-undici': runner('undici'),
  // No --threads: the count comes from the CPUs the process may use, as in a pod.
  'runner-threads': runner('socket', `${SERVER_CPU},${CLIENT_CPU}`, []),
  autocannon: async (url, connections, seconds) => {
    const run = await pinned(AUTOCANNON, ['-c', String(connections), '-d', String(seconds), '--json', url]);
    const report = JSON.parse(run.stdout) as { requests: { total: number }; duration: number };
    const requests = report.requests.total;
    return { rps: requests / report.duration, cpuSeconds: run.cpuSeconds, requests };
  },
  wrk: async (url, connections, seconds) => {
    const run = await pinned(requireTool('wrk'), ['-t1', `-c${connections}`, `-d${seconds}s`, url]);
    const rps = /Requests\/sec:\s+([0-9.]+)/.exec(run.stdout);
    const total = /([0-9]+) requests in/.exec(run.stdout);
    if (rps === null || total === null) throw new Error(`unexpected wrk output: ${run.stdout}`);
    return { rps: Number(rps[1]), cpuSeconds: run.cpuSeconds, requests: Number(total[1]) };
  },
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const cpuMicrosPerRequest = (measurement: Measurement): number => (measurement.cpuSeconds * 1e6) / measurement.requests;

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
}

function report(connections: number, samples: Map<string, Measurement[]>): void {
  const rps = new Map([...samples].map(([name, runs]) => [name, median(runs.map((run) => run.rps))]));
  const cpu = new Map([...samples].map(([name, runs]) => [name, median(runs.map(cpuMicrosPerRequest))]));
  console.log(`\n${connections} connections, medians:`);
  for (const [name, runs] of samples) {
    const threads = runs[0]?.threads;
    console.log(
      `  ${name.padEnd(14)} ${String(Math.round(rps.get(name)!)).padStart(7)} req/s` +
        `  ${cpu.get(name)!.toFixed(2).padStart(6)} µs CPU/request` +
        `  ${String(Math.round(1e6 / cpu.get(name)!)).padStart(7)} requests per CPU second` +
        (threads === undefined ? '' : `  (${threads} thread${threads === 1 ? '' : 's'})`),
    );
  }
  const ours = 'runner';
  if (!samples.has(ours)) return;
  const threaded = 'runner-threads';
  if (samples.has(threaded)) {
    const threads = samples.get(threaded)![0]?.threads;
    console.log(
      `  ${threaded} / runner (${threads} threads vs 1): ${(rps.get(threaded)! / rps.get(ours)!).toFixed(2)}× req/s, ` +
        `${(cpu.get(ours)! / cpu.get(threaded)!).toFixed(2)}× requests per CPU second`,
    );
  }
  for (const name of samples.keys()) {
    if (name === ours || name === threaded) continue;
    // CPU ratio inverted, so that above 1 means "the runner is better" in both columns.
    const throughput = rps.get(ours)! / rps.get(name)!;
    const efficiency = cpu.get(name)! / cpu.get(ours)!;
    console.log(
      `  runner / ${name.padEnd(14)} ${throughput.toFixed(2)}× req/s, ${efficiency.toFixed(2)}× requests per CPU second`,
    );
  }
  console.log('');
}

/** Installs nginx and wrk when missing; throws, naming what is missing, when that cannot be done. */
function ensurePackages(): void {
  const needed: ToolName[] = ['nginx', 'wrk', 'time', 'taskset'];
  if (needed.every((tool) => findTool(tool) !== undefined)) return;
  const result = spawnSync('bash', [`${ROOT}${PACKAGES_SCRIPT}`], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`nginx and wrk are needed: ${PACKAGES_SCRIPT} failed`);
  for (const tool of needed) requireTool(tool);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '16,64' },
      contenders: { type: 'string', default: 'runner,runner-threads,autocannon,wrk' },
    },
  });
  const seconds = Number(values.duration);
  const rounds = Number(values.rounds);
  const contenders = values.contenders.split(',');
  for (const name of contenders) if (CONTENDERS[name] === undefined) throw new Error(`unknown contender ${name}`);
  ensurePackages();
  const nginx = await startNginx({ cpu: Number(SERVER_CPU), server: 'location = / { return 200 "ok"; }' });
  const url = `${nginx.origin}/`;
  console.log(`nginx on core ${SERVER_CPU}, clients on core ${CLIENT_CPU}, ${seconds} s per run, ${rounds} rounds`);
  try {
    for (const connections of values.connections.split(',').map(Number)) {
      const samples = new Map<string, Measurement[]>(contenders.map((name) => [name, []]));
      for (let round = 1; round <= rounds; round++) {
        for (const name of contenders) {
          const measurement = await CONTENDERS[name]!(url, connections, seconds);
          samples.get(name)!.push(measurement);
          console.log(
            `  c=${connections} round ${round} ${name.padEnd(14)} ${Math.round(measurement.rps)} req/s, ` +
              `${cpuMicrosPerRequest(measurement).toFixed(2)} µs CPU/request (load ${loadAverage()})`,
          );
        }
      }
      report(connections, samples);
    }
  } finally {
    await nginx.stop();
  }
}

await main();
