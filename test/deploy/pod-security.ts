/**
 * The `restricted` Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/,
 * policy version "latest" at Kubernetes 1.34), written out as one check over a pod template: every baseline
 * control, then the restricted ones. The API server's PodSecurity admission is the authority; this check lets
 * tests name the rule a rendered manifest breaks without a cluster, and test/deploy/apiserver.integration.test.ts
 * asks the API server too.
 */

/** The parts of a pod template (or a Pod) the standard looks at. */
export interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: PodSpec;
}

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: Array<{ name: string }>;
}

interface Container {
  name: string;
  ports?: Array<{ hostPort?: number }>;
  securityContext?: SecurityContext;
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Array<Record<string, unknown> & { name: string }>;
}

/** Sysctls the baseline allows (the "safe" set). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
/** The only volume types `restricted` allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/**
 * Every way `template` breaks the restricted Pod Security Standard, one line each naming the field; empty when it
 * meets it.
 */
export function restrictedViolations(template: PodTemplate): string[] {
  const problems: string[] = [];
  const spec = template.spec;
  const pod = spec.securityContext ?? {};
  const containers = [...spec.containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  const each = (check: (context: SecurityContext, where: string) => void) => {
    check(pod, 'spec.securityContext');
    for (const container of containers) check(container.securityContext ?? {}, `container "${container.name}"`);
  };

  // ---- baseline ----
  each((context, where) => {
    if (context.windowsOptions?.hostProcess === true) problems.push(`${where}: windowsOptions.hostProcess is true`);
    if (!SELINUX_TYPES.has(context.seLinuxOptions?.type ?? '')) {
      problems.push(`${where}: seLinuxOptions.type ${context.seLinuxOptions?.type} is not allowed`);
    }
    if (context.seLinuxOptions?.user !== undefined) problems.push(`${where}: seLinuxOptions.user is set`);
    if (context.seLinuxOptions?.role !== undefined) problems.push(`${where}: seLinuxOptions.role is set`);
    if (context.appArmorProfile?.type === 'Unconfined') problems.push(`${where}: appArmorProfile is Unconfined`);
    if (context.seccompProfile?.type === 'Unconfined') problems.push(`${where}: seccompProfile is Unconfined`);
  });
  for (const [flag, value] of Object.entries({
    hostNetwork: spec.hostNetwork,
    hostPID: spec.hostPID,
    hostIPC: spec.hostIPC,
  })) {
    if (value === true) problems.push(`spec.${flag} is true`);
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) problems.push(`spec.securityContext: sysctl ${sysctl.name} is not safe`);
  }
  for (const [key, value] of Object.entries(template.metadata?.annotations ?? {})) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value === 'unconfined') {
      problems.push(`annotation ${key} is unconfined`);
    }
  }
  for (const container of containers) {
    const where = `container "${container.name}"`;
    const context = container.securityContext ?? {};
    if (context.privileged === true) problems.push(`${where}: privileged is true`);
    if ((context.procMount ?? 'Default') !== 'Default') problems.push(`${where}: procMount is ${context.procMount}`);
    for (const port of container.ports ?? []) {
      if ((port.hostPort ?? 0) !== 0) problems.push(`${where}: hostPort ${port.hostPort}`);
    }
  }

  // ---- restricted ----
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type === undefined || !RESTRICTED_VOLUMES.has(type)) {
      problems.push(`volume "${volume.name}" is of type ${type ?? '(none)'}`);
    }
  }
  for (const container of containers) {
    const where = `container "${container.name}"`;
    const context = container.securityContext ?? {};
    if (context.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    // Running as non-root: the pod says so and no container says otherwise, or every container says so.
    if (context.runAsNonRoot === false) problems.push(`${where}: runAsNonRoot is false`);
    else if (pod.runAsNonRoot !== true && context.runAsNonRoot !== true) {
      problems.push(`${where}: runAsNonRoot is not true (nor is it on the pod)`);
    }
    // Seccomp: RuntimeDefault or Localhost, on the pod or on every container.
    const seccomp = context.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      problems.push(`${where}: seccompProfile.type is ${seccomp ?? 'unset'} (here or on the pod)`);
    }
    if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities.drop lacks ALL`);
    for (const added of context.capabilities?.add ?? []) {
      if (added !== 'NET_BIND_SERVICE') problems.push(`${where}: capabilities.add has ${added}`);
    }
  }
  each((context, where) => {
    if (context.runAsUser === 0) problems.push(`${where}: runAsUser is 0`);
  });
  return problems;
}
