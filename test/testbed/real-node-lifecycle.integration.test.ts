/**
 * The test bed leaves the machine as it found it: whatever its real node changed (iptables chains, the bridge,
 * veths, network namespaces, kubepods cgroups, mounts, sysctls, folders) is gone after `down`, after a component
 * died, and after the supervisor itself was killed. These tests stop and start the test bed they run on, and bring
 * it back up at the end for the test files that follow.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../src/util/process.js';
import { apply, kubectlWait } from '../support/kubectl.js';
import { BRIDGE, pendingHostRecord } from './host-state.js';
import { testbedDown, testbedLeftovers, testbedProcesses, testbedUp } from './lifecycle.js';
import { placementOn } from './nodes.js';
import { defaultStateDir, errorFile, isAlive, readTestbedEnv, type TestbedEnv } from './state.js';

/** What the real node may change on the machine, read without the test bed's own code. */
interface MachineSnapshot {
  chains: string[];
  links: string[];
  networkNamespaces: string[];
  kubepodsCgroups: string[];
  mountsUnderStateDir: string[];
  sysctls: Record<string, string>;
  folders: Record<string, boolean>;
}

const SYSCTLS = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops', 'net.ipv4.ip_forward'];
const FOLDERS = [
  '/var/lib/kubelet',
  '/var/log/containers',
  '/usr/libexec/kubernetes',
  '/run/containerd',
  '/var/lib/cni',
];

function snapshotMachine(stateDir: string): MachineSnapshot {
  const chains: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
    if (!existsSync(`/usr/sbin/${save}`)) continue;
    const output = execFileSync(save, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of output.split('\n')) {
      const chain = /^:((KUBE|CNI|LOADTEST)-\S+)/.exec(line)?.[1];
      if (chain !== undefined) chains.push(`${save} ${chain}`);
    }
  }
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0])
    .filter((name): name is string => name !== undefined);
  const cgroupRoots = readdirSync('/sys/fs/cgroup').map((hierarchy) => join('/sys/fs/cgroup', hierarchy, 'kubepods'));
  return {
    chains: chains.sort(),
    links: links.sort(),
    networkNamespaces: existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [],
    kubepodsCgroups: cgroupRoots.filter((path) => existsSync(path)),
    mountsUnderStateDir: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${stateDir}/`)),
    sysctls: Object.fromEntries(
      SYSCTLS.map((name) => [name, readFileSync(join('/proc/sys', ...name.split('.')), 'utf8').trim()]),
    ),
    folders: Object.fromEntries(FOLDERS.map((folder) => [folder, existsSync(folder)])),
  };
}

describe('test bed lifecycle on the machine', function () {
  this.timeout(10 * 60_000);
  const stateDir = defaultStateDir();
  let startedByThisRun = false;
  let baseline: MachineSnapshot;

  const up = async (): Promise<TestbedEnv> => {
    const env = await testbedUp(stateDir, { parentPid: startedByThisRun ? process.pid : undefined });
    Object.assign(process.env, env);
    return env;
  };

  /** A pod on the real node with a memory-backed emptyDir and a downwardAPI volume: mounts, a veth, cgroups. */
  const runRealPod = async (env: TestbedEnv) => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'lifecycle', namespace: 'default', labels: { purpose: 'lifecycle' } },
      spec: {
        ...placementOn('real'),
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'main',
            image: env.TESTBED_TOOLBOX_IMAGE,
            volumeMounts: [
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'info', mountPath: '/info' },
            ],
          },
        ],
        volumes: [
          { name: 'scratch', emptyDir: { medium: 'Memory' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        ],
      },
    });
    await kubectlWait('pod/lifecycle', '--for=condition=Ready', 60, 'default');
  };

  before(async function () {
    const supervisor = testbedProcesses(stateDir).find((p) => p.command.includes('supervisor.js'));
    startedByThisRun = supervisor?.command.includes(`--parent-pid ${process.pid}`) ?? false;
    await testbedDown(stateDir);
    const other = pendingHostRecord();
    assert.ok(
      other === undefined || !isAlive(other.pid),
      `another test bed (${other?.stateDir}) runs a real node on this machine: its changes would be counted here`,
    );
    baseline = snapshotMachine(stateDir);
  });

  after(async function () {
    await up();
  });

  it('takes the machine back to how it was at down: no chain, bridge, veth, netns, cgroup, mount, sysctl or folder left', async function () {
    const env = await up();
    await runRealPod(env);
    const during = snapshotMachine(stateDir);
    // The snapshot sees what the real node changes (so that its equality afterwards means something).
    assert.ok(
      during.chains.some((chain) => chain.endsWith(' KUBE-SERVICES')),
      'kube-proxy chains while up',
    );
    assert.ok(during.links.includes(BRIDGE), 'the bridge while up');
    assert.ok(during.links.length >= baseline.links.length + 2, 'the bridge and a veth while up');
    assert.notEqual(during.kubepodsCgroups.length, 0, 'kubepods cgroups while up');
    assert.notEqual(during.mountsUnderStateDir.length, 0, 'mounts under the state folder while up');
    assert.notDeepEqual(during.sysctls, baseline.sysctls, 'kubelet changed sysctls while up');

    await testbedDown(stateDir);
    assert.deepEqual(snapshotMachine(stateDir), baseline);
    assert.deepEqual(testbedLeftovers(stateDir), []);
  });

  it('goes down when a component dies, names it, and still takes the machine back', async function () {
    await up();
    const kubelet = testbedProcesses(stateDir).find((p) => p.command.split(' ')[0]?.endsWith('/kubelet'));
    assert.ok(kubelet !== undefined, 'the kubelet runs');
    const supervisorPid = Number(readTestbedEnv(stateDir)?.TESTBED_PID);
    process.kill(kubelet.pid, 'SIGKILL');
    await waitFor(() => Promise.resolve(!isAlive(supervisorPid)), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the supervisor to stop after the kubelet died',
    });
    assert.match(readFileSync(errorFile(stateDir), 'utf8'), /^kubelet exited \(code null, signal SIGKILL\)/);
    assert.deepEqual(snapshotMachine(stateDir), baseline);
    assert.deepEqual(testbedLeftovers(stateDir), []);
  });

  it('takes the machine back at the next up after the supervisor itself was killed', async function () {
    const env = await up();
    await runRealPod(env);
    const orphans = testbedProcesses(stateDir).filter((p) => !p.command.includes('supervisor.js'));
    process.kill(Number(env.TESTBED_PID), 'SIGKILL');
    await waitFor(() => Promise.resolve(!isAlive(Number(env.TESTBED_PID))), {
      timeoutMs: 10_000,
      what: 'the supervisor to die',
    });
    // Its components (in their own process groups) outlive it: the next up clears them and the machine.
    assert.ok(
      orphans.some((p) => isAlive(p.pid)),
      'components outlive a killed supervisor',
    );
    await up();
    assert.deepEqual(
      orphans.filter((p) => isAlive(p.pid)),
      [],
      'the next up stopped the components of the killed supervisor',
    );
    await kubectlWait('node/testbed-real-node', '--for=condition=Ready', 60);
    await testbedDown(stateDir);
    assert.deepEqual(snapshotMachine(stateDir), baseline);
    assert.deepEqual(testbedLeftovers(stateDir), []);
  });
});
