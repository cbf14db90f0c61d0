/**
 * What the real node changes on this machine outside the test bed's folder, and how the test bed undoes it.
 *
 * kubelet, kube-proxy, containerd and the CNI plugins change machine-wide state: sysctls (kubelet sets
 * vm.overcommit_memory, kernel.panic, ...; the bridge plugin turns on ip_forward), iptables chains (KUBE-*,
 * CNI-*), a bridge and veths, network namespaces, kubepods cgroups in every hierarchy, mounts, and files in
 * /var/lib/kubelet, /var/log/containers, /run/containerd. Before the real node starts, the test bed records the
 * machine (captureHost) in MACHINE_DIR, so that `down` — or the next `up` after a crash — restores it
 * (restoreHost); hostLeftovers() names whatever is still there, for the leftover checks after `down`.
 *
 * Only one test bed on a machine may run a real node at a time (these names are machine-wide): the holder of
 * the machine lock (acquireRealNodeLock).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from './state.js';

const run = promisify(execFile);

/** Machine-wide (tmpfs, like the sysctls it records: a reboot resets both). */
export const MACHINE_DIR = '/run/loadtest-testbed';
const RECORD_FILE = join(MACHINE_DIR, 'host-before.json');
const LOCK_FILE = join(MACHINE_DIR, 'real-node.lock');
const OWNER_FILE = join(MACHINE_DIR, 'real-node.owner');

/** The pod network: a bridge of its own on a subnet that exists only on this machine. */
export const BRIDGE = 'ltbr0';
export const POD_CIDR = '10.244.0.0/24';
/** The bridge's address: the real node's InternalIP, where pods reach the host. */
export const BRIDGE_IP = '10.244.0.1';
export const CNI_NETWORK = 'loadtest-testbed';
/** iptables chains of the test bed itself (the guard that keeps pod traffic on the machine). */
export const GUARD_CHAIN = 'LOADTEST-GUARD';

/** Sysctls that kubelet, kube-proxy or the CNI plugins may set. */
const SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.conf.all.forwarding',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_tcp_timeout_established',
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait',
];

/** Folders kubelet, containerd and the CNI plugins create at fixed places whatever their configuration. */
const HOST_PATHS = [
  '/var/lib/kubelet',
  '/var/log/containers',
  '/var/log/pods',
  '/usr/libexec/kubernetes',
  '/run/containerd',
  '/var/lib/cni',
  '/run/netns',
  '/opt/containerd',
];

/** Where mounts of the real node may be, besides the test bed's folder. */
const MOUNT_ROOTS = ['/run/netns', '/run/containerd', '/var/lib/kubelet'];

const CHAIN_PATTERN = /^(KUBE-|CNI-|LOADTEST-)/;
const IPTABLES = ['iptables', 'ip6tables', 'iptables-legacy', 'ip6tables-legacy'];

export interface HostRecord {
  /** The test bed that changed the machine. */
  stateDir: string;
  /** Its supervisor. */
  pid: number;
  sysctls: Record<string, string>;
  /** Which of HOST_PATHS existed before. */
  existed: Record<string, boolean>;
}

export function captureHost(stateDir: string): HostRecord {
  const sysctls: Record<string, string> = {};
  for (const name of SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls[name] = value;
  }
  const existed = Object.fromEntries(HOST_PATHS.map((path) => [path, existsSync(path)]));
  return { stateDir, pid: process.pid, sysctls, existed };
}

/** Records the machine before the real node changes it: in MACHINE_DIR, and a copy in the test bed's folder. */
export async function writeHostRecord(record: HostRecord): Promise<void> {
  await mkdir(MACHINE_DIR, { recursive: true });
  const text = JSON.stringify(record, null, 2);
  await writeFile(`${RECORD_FILE}.tmp`, text);
  await run('mv', [`${RECORD_FILE}.tmp`, RECORD_FILE]);
  await writeFile(stateRecordFile(record.stateDir), text);
}

/** The record of a test bed that changed the machine and has not restored it (crashed, or still running). */
export function pendingHostRecord(): HostRecord | undefined {
  if (!existsSync(RECORD_FILE)) return undefined;
  return JSON.parse(readFileSync(RECORD_FILE, 'utf8')) as HostRecord;
}

/** The pid of a live supervisor of `stateDir` other than this process, if any. */
export function otherSupervisor(stateDir: string): number | undefined {
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (command.some((arg) => arg.endsWith('supervisor.js')) && command.includes(stateDir)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/**
 * Before a test bed wipes its folder: kills the components a crashed supervisor of it left running and unmounts
 * what is mounted below it (pod volumes, container root filesystems), so that nothing is deleted through a mount.
 */
async function releaseStateDir(stateDir: string): Promise<void> {
  await killLeftovers(stateDir);
  await unmountUnder([stateDir]);
}

/**
 * After a supervisor of `stateDir` was killed without stopping anything: kills its components, unmounts, and
 * restores the machine if its real node had changed it. Does nothing while a supervisor of it runs.
 */
export async function clearCrashedTestbed(stateDir: string, log: (line: string) => void): Promise<void> {
  if (otherSupervisor(stateDir) !== undefined) return;
  await releaseStateDir(stateDir);
  const record = pendingHostRecord();
  if (record !== undefined && record.stateDir === stateDir && !isAlive(record.pid)) {
    log(`restoring the machine after the test bed in ${stateDir} (pid ${record.pid}) that did not`);
    await restoreHost(record, log);
  }
}

const stateRecordFile = (stateDir: string) => join(stateDir, 'host-before.json');

/**
 * Undoes what the real node changed on the machine, best effort, each step on its own: kills what is left of
 * its processes, unmounts, removes iptables chains, the bridge and veths, cgroups, files, and sets the
 * sysctls back. Returns what it could not undo.
 */
export async function restoreHost(record: HostRecord, log: (line: string) => void): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  };
  await step('killing leftover processes', () => killLeftovers(record.stateDir));
  await step('unmounting', () => unmountUnder([record.stateDir, ...MOUNT_ROOTS]));
  await step('removing cgroups', () => removeCgroups());
  await step('removing iptables chains', () => removeChains());
  await step('removing network links', () => removeLinks());
  await step('restoring sysctls', async () => {
    for (const [name, value] of Object.entries(record.sysctls)) {
      if (readSysctl(name) !== value) await writeFile(sysctlPath(name), value);
    }
  });
  await step('removing files', async () => {
    for (const path of HOST_PATHS) {
      if (record.existed[path] === false) await rm(path, { recursive: true, force: true });
    }
    // A machine that had CNI state before keeps it; only this network's entries go.
    if (record.existed['/var/lib/cni'] === true) {
      await rm(join('/var/lib/cni/networks', CNI_NETWORK), { recursive: true, force: true });
      for (const entry of safeReaddir('/var/lib/cni/results')) {
        if (entry.startsWith(`${CNI_NETWORK}-`)) await rm(join('/var/lib/cni/results', entry), { force: true });
      }
    }
  });
  if (problems.length === 0) await rm(RECORD_FILE, { force: true });
  else log(`restoring the machine left problems: ${problems.join('; ')}`);
  return problems;
}

/**
 * What the real node left on the machine, one line each: empty when the machine is as it was. Compares the
 * sysctls and folders with the record the test bed took before its real node started (if it started one).
 */
export function hostLeftovers(stateDir: string): string[] {
  const found: string[] = [];
  const pending = pendingHostRecord();
  if (pending !== undefined && pending.stateDir !== stateDir && isAlive(pending.pid)) {
    // Another test bed runs the real node now: the machine-wide state is its own. Only our mounts are ours.
    for (const mount of mountsUnder([stateDir])) found.push(`mount ${mount}`);
    return found;
  }
  if (pending !== undefined) found.push(`${RECORD_FILE}: the machine was not restored after the real node`);
  const record = existsSync(stateRecordFile(stateDir))
    ? (JSON.parse(readFileSync(stateRecordFile(stateDir), 'utf8')) as HostRecord)
    : undefined;
  for (const mount of mountsUnder([stateDir, ...MOUNT_ROOTS])) found.push(`mount ${mount}`);
  for (const chain of leftoverChains()) found.push(`iptables chain ${chain}`);
  for (const link of leftoverLinks()) found.push(`network link ${link}`);
  for (const entry of safeReaddir('/run/netns')) found.push(`network namespace /run/netns/${entry}`);
  for (const cgroup of leftoverCgroups()) found.push(`cgroup ${cgroup}`);
  if (record !== undefined) {
    for (const [name, value] of Object.entries(record.sysctls)) {
      const now = readSysctl(name);
      if (now !== value) found.push(`sysctl ${name} = ${now} (was ${value})`);
    }
    for (const path of HOST_PATHS) {
      if (record.existed[path] === false && existsSync(path)) found.push(`file ${path} (did not exist before)`);
    }
  }
  return found;
}

// --- the machine lock ---

/**
 * Waits for the machine's real-node lock and holds it until release() or until this process dies: a `flock`
 * child holds it, and exits when its stdin (a pipe from us) closes, even if we are killed with SIGKILL.
 */
export async function acquireRealNodeLock(
  stateDir: string,
  log: (line: string) => void,
): Promise<{ release: () => Promise<void> }> {
  await mkdir(MACHINE_DIR, { recursive: true });
  // `exec cat` keeps the lock until our end of the pipe closes; the state folder names it as this test bed's.
  const child = spawn('flock', ['--exclusive', LOCK_FILE, 'sh', '-c', 'echo locked; exec cat', stateDir], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const waiting = setTimeout(() => {
    const owner = existsSync(OWNER_FILE) ? readFileSync(OWNER_FILE, 'utf8').trim() : 'unknown';
    log(`waiting for the machine's real node lock ${LOCK_FILE}, held by the test bed ${owner}`);
  }, 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`flock ${LOCK_FILE} exited with code ${code}`)));
      child.once('error', reject);
    });
  } finally {
    clearTimeout(waiting);
  }
  await writeFile(OWNER_FILE, `${stateDir} (supervisor pid ${process.pid})\n`);
  return {
    release: async () => {
      await rm(OWNER_FILE, { force: true });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

// --- the steps ---

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const sysctlPath = (name: string) => join('/proc/sys', ...name.split('.'));

/** Components a crashed (SIGKILLed) supervisor left behind: they name the test bed's folder on their command line. */
const LEFTOVER_COMMANDS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'temporal',
  'containerd',
  'containerd-shim',
  'containerd-shim-runc-v2',
  'kubelet',
  'kube-proxy',
  'coredns',
];

async function killLeftovers(stateDir: string): Promise<void> {
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const program = command[0]?.split('/').pop() ?? '';
      if (LEFTOVER_COMMANDS.includes(program) && command.some((arg) => arg.includes(stateDir))) {
        process.kill(Number(entry), 'SIGKILL');
      }
    } catch {
      // Gone meanwhile.
    }
  }
  // Give the kernel a moment to reap them before their mounts and cgroups go.
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Mount points under any of `roots`, deepest first. */
function mountsUnder(roots: string[]): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  return [
    ...new Set(points.filter((point) => roots.some((root) => point === root || point.startsWith(`${root}/`)))),
  ].sort((a, b) => b.length - a.length);
}

async function unmountUnder(roots: string[]): Promise<void> {
  for (const point of mountsUnder(roots)) {
    await run('umount', [point]).catch(() => run('umount', ['--lazy', point]));
  }
}

function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'cgroup' || fields[2] === 'cgroup2')
    .map((fields) => fields[1]!);
}

function leftoverCgroups(): string[] {
  return cgroupMounts()
    .map((mount) => join(mount, 'kubepods'))
    .filter((path) => existsSync(path));
}

/** Removes each hierarchy's kubepods tree bottom-up, killing any process still in it. */
async function removeCgroups(): Promise<void> {
  const failures: string[] = [];
  for (const root of leftoverCgroups()) {
    for (let attempt = 0; ; attempt++) {
      const dirs = cgroupTree(root).reverse();
      for (const dir of dirs) {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
      }
      let left = 0;
      for (const dir of dirs) await rmdir(dir).catch(() => left++);
      if (left === 0) break;
      if (attempt === 50) {
        failures.push(root);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (failures.length > 0) throw new Error(`cgroups still busy: ${failures.join(', ')}`);
}

/** A cgroup folder and every folder below it, parents first. */
function cgroupTree(root: string): string[] {
  const found = [root];
  for (const entry of safeReaddir(root)) {
    const path = join(root, entry);
    try {
      if (statSync(path).isDirectory()) found.push(...cgroupTree(path));
    } catch {
      // Removed meanwhile.
    }
  }
  return found;
}

/** `<tool> -t <table>: <chain>` for every test-bed chain, in every iptables flavour that is installed. */
function leftoverChains(): string[] {
  const found: string[] = [];
  for (const tool of installedIptables()) {
    for (const [table, chains] of chainsByTable(saveOutput(tool))) {
      for (const chain of chains) found.push(`${tool} -t ${table}: ${chain}`);
    }
  }
  return found;
}

function installedIptables(): string[] {
  return IPTABLES.filter((tool) => existsSync(`/usr/sbin/${tool}-save`) || existsSync(`/sbin/${tool}-save`));
}

/** Synchronous: the leftover check runs in teardown, where nothing else is going on. */
function output(command: string, args: string[] = []): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function saveOutput(tool: string): string {
  try {
    return output(`${tool}-save`);
  } catch {
    return '';
  }
}

function chainsByTable(save: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0]!;
      if (CHAIN_PATTERN.test(chain)) tables.set(table, [...(tables.get(table) ?? []), chain]);
    }
  }
  return tables;
}

/**
 * Removes the test bed's chains with one iptables-restore per table (which parses the rules as -save printed
 * them): flush them, delete the jumps to them from other chains, then delete them.
 */
async function removeChains(): Promise<void> {
  for (const tool of installedIptables()) {
    const save = saveOutput(tool);
    for (const [table, chains] of chainsByTable(save)) {
      const lines = [`*${table}`, ...chains.map((chain) => `:${chain} - [0:0]`)];
      let current = '';
      for (const line of save.split('\n')) {
        if (line.startsWith('*')) current = line.slice(1);
        if (current !== table || !line.startsWith('-A ')) continue;
        const [, chain] = line.split(' ');
        if (!CHAIN_PATTERN.test(chain ?? '')) lines.push(line.replace(/^-A /, '-D '));
      }
      lines.push(...chains.map((chain) => `-X ${chain}`), 'COMMIT', '');
      await new Promise<void>((resolve, reject) => {
        const child = spawn(`${tool}-restore`, ['--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`${tool}-restore -t ${table}: ${stderr.trim()}`)),
        );
        child.stdin.end(lines.join('\n'));
      });
    }
  }
}

interface Link {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}

function links(): Link[] {
  try {
    return JSON.parse(output('ip', ['-details', '-json', 'link', 'show'])) as Link[];
  } catch {
    return [];
  }
}

/** The bridge and every veth (the CNI plugin's host ends; this machine has none of its own). */
function leftoverLinks(): string[] {
  return links()
    .filter((link) => link.ifname === BRIDGE || link.linkinfo?.info_kind === 'veth')
    .map((link) => link.ifname);
}

async function removeLinks(): Promise<void> {
  for (const link of links()) {
    if (link.master === BRIDGE) await run('ip', ['link', 'delete', link.ifname]).catch(() => undefined);
  }
  if (links().some((link) => link.ifname === BRIDGE)) await run('ip', ['link', 'delete', BRIDGE]);
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
