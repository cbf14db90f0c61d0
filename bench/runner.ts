/**
 * Throughput of the runner against autocannon and wrk, on the same nginx, same connections, same duration.
 *
 *   npm run bench:runner [-- --duration 5 --rounds 5 --connections 16,64 --contenders runner,autocannon,wrk]
 *
 * nginx (worker_processes 1, access_log off, keepalive_requests raised, 2-byte body) is pinned to core 0 and
 * each client in turn to core 1, alternating A B C A B C so that drift of the machine hits every client alike.
 * Contender "runner-undici" adds the runner on its undici transport, for comparison with the fast path.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/support/nginx.js';

const SERVER_CPU = '0';
const CLIENT_CPU = '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const AUTOCANNON = `${ROOT}node_modules/.bin/autocannon`;

type Contender = (url: string, connections: number, seconds: number) => Promise<number>;

function pinned(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('taskset', ['-c', CLIENT_CPU, command, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      // The runner exits with 1 when some requests failed; its output is still a result.
      if (error !== null && error.code !== 1) reject(new Error(`${command} failed: ${error.message}`));
      else resolve(stdout);
    });
  });
}

const runner =
  (transport: 'socket' | 'undici'): Contender =>
  async (url, connections, seconds) => {
    const args = ['--url', url, '--connections', String(connections), '--duration', `${seconds}s`];
    const stdout = await pinned(process.execPath, [
      CLI,
      'runner',
      ...args,
      '--transport',
      transport,
      '--output',
      'json',
    ]);
    return (JSON.parse(stdout) as { results: { rps: number } }).results.rps;
  };

const CONTENDERS: Record<string, Contender> = {
  runner: runner('socket'),
  'runner-undici': runner('undici'),
  autocannon: async (url, connections, seconds) => {
    const stdout = await pinned(AUTOCANNON, ['-c', String(connections), '-d', String(seconds), '--json', url]);
    const report = JSON.parse(stdout) as { requests: { total: number }; duration: number };
    return report.requests.total / report.duration;
  },
  wrk: async (url, connections, seconds) => {
    const stdout = await pinned('/usr/bin/wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url]);
    const match = /Requests\/sec:\s+([0-9.]+)/.exec(stdout);
    if (match === null) throw new Error(`unexpected wrk output: ${stdout}`);
    return Number(match[1]);
  },
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function ensurePackages(): void {
  if (existsSync('/usr/sbin/nginx') && existsSync('/usr/bin/wrk')) return;
  const result = spawnSync('bash', [`${ROOT}test/testbed/ensure-packages.sh`], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('nginx and wrk are needed: test/testbed/ensure-packages.sh failed');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '16,64' },
      contenders: { type: 'string', default: 'runner,autocannon,wrk' },
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
      const samples = new Map<string, number[]>(contenders.map((name) => [name, []]));
      for (let round = 1; round <= rounds; round++) {
        for (const name of contenders) {
          const rps = await CONTENDERS[name]!(url, connections, seconds);
          samples.get(name)!.push(rps);
          console.log(`  c=${connections} round ${round} ${name.padEnd(14)} ${Math.round(rps)} req/s`);
        }
      }
      const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
      console.log(`\n${connections} connections, median requests/s:`);
      for (const [name, value] of medians) console.log(`  ${name.padEnd(14)} ${Math.round(value)}`);
      const ours = medians.get('runner');
      if (ours !== undefined) {
        for (const [name, value] of medians) {
          if (name !== 'runner') console.log(`  runner / ${name.padEnd(14)} ${(ours / value).toFixed(2)}×`);
        }
      }
      console.log('');
    }
  } finally {
    await nginx.stop();
  }
}

await main();
