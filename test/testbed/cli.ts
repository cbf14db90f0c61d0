/**
 * `npm run testbed -- up|down|status|restart <component>`: a local Kubernetes control plane, a process node
 * agent, a real node (kubelet, containerd, kube-proxy, CoreDNS) and a Temporal dev server.
 */
import { requestRestart } from './control.js';
import { defaultStateDir, readTestbedEnv, isAlive } from './state.js';
import { TestbedReuseError, testbedDown, testbedLeftovers, testbedProcesses, testbedUp } from './lifecycle.js';

const command = process.argv[2] ?? 'status';
const stateDir = defaultStateDir();

function printExports(env: Record<string, string>): void {
  console.log(`export KUBECONFIG=${env.KUBECONFIG}`);
  console.log(`export TEMPORAL_ADDRESS=${env.TEMPORAL_ADDRESS}`);
  console.log(`export TEMPORAL_NAMESPACE=${env.TEMPORAL_NAMESPACE}`);
  console.log(`# Temporal Web UI: ${env.TEMPORAL_UI_URL}`);
}

switch (command) {
  case 'up': {
    const started = Date.now();
    console.error(`starting the test bed in ${stateDir} (first run builds kube-apiserver: 5–25 min)...`);
    const env = await testbedUp(stateDir).catch((error: Error) => {
      // A running test bed that cannot be reused says so itself, with what to do.
      console.error(error instanceof TestbedReuseError ? error.message : `test bed failed to start: ${error.message}`);
      process.exit(1);
    });
    console.error(`test bed up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    printExports({ ...env });
    break;
  }
  case 'down': {
    await testbedDown(stateDir);
    const leftovers = testbedLeftovers(stateDir);
    if (leftovers.length > 0) {
      console.error(`test bed stopped, but left behind:\n  ${leftovers.join('\n  ')}`);
      process.exitCode = 1;
    } else console.error('test bed stopped');
    break;
  }
  case 'restart': {
    const component = process.argv[3] === 'apiserver' ? 'kube-apiserver' : process.argv[3];
    const env = readTestbedEnv(stateDir);
    if (component === undefined) {
      console.error('usage: npm run testbed -- restart <component> (e.g. kubelet, containerd, apiserver, temporal)');
      process.exitCode = 2;
    } else if (env === undefined || !isAlive(Number(env.TESTBED_PID))) {
      console.error('test bed: down');
      process.exitCode = 3;
    } else {
      const answer = await requestRestart(stateDir, component);
      console.error(answer.message);
      process.exitCode = answer.ok ? 0 : 1;
    }
    break;
  }
  case 'status': {
    const env = readTestbedEnv(stateDir);
    if (env === undefined || !isAlive(Number(env.TESTBED_PID))) {
      console.log('test bed: down');
      process.exitCode = 3;
    } else {
      console.log(`test bed: up (supervisor pid ${env.TESTBED_PID}, state ${stateDir})`);
      for (const p of testbedProcesses(stateDir)) console.log(`  ${p.pid}\t${p.command.slice(0, 110)}`);
      printExports({ ...env });
    }
    break;
  }
  default:
    console.error(`usage: npm run testbed -- up|down|status|restart <component> (got "${command}")`);
    process.exitCode = 2;
}
