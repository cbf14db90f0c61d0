/** Where the operator finds its cluster: KUBECONFIG when set, else the pod's service account, else ~/.kube/config. */
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath !== undefined) config.loadFromFile(kubeconfigPath);
  else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) config.loadFromCluster();
  else config.loadFromDefault();
  if (config.getCurrentCluster() === null) throw new Error('no Kubernetes cluster configured (set KUBECONFIG)');
  return config;
}

/** What kubectl's --kubeconfig and --context select. */
export interface KubeSelection {
  /** A kubeconfig file; default KUBECONFIG, else in-cluster, else ~/.kube/config. */
  kubeconfig?: string;
  /** A context of that file; default its current context. */
  context?: string;
}

/** Why a kubeconfig selection cannot be used: a file that cannot be read, or a context it does not have. */
export class KubeSelectionError extends Error {
  override name = 'KubeSelectionError';
}

/**
 * The cluster a kubectl user means, as kubectl picks it, and the namespace of its context (undefined when the
 * context names none). A file that cannot be read or a context that does not exist is a KubeSelectionError.
 */
export function selectKubeConfig(selection: KubeSelection): { config: KubeConfig; namespace?: string } {
  let config: KubeConfig;
  const file = selection.kubeconfig ?? (process.env.KUBECONFIG || undefined);
  try {
    config = loadKubeConfig(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new KubeSelectionError(file === undefined ? reason : `cannot read kubeconfig ${file}: ${reason}`);
  }
  if (selection.context !== undefined) {
    if (config.getContextObject(selection.context) === null) {
      const known = config.getContexts().map((context) => context.name);
      throw new KubeSelectionError(
        `context "${selection.context}" is not in the kubeconfig (contexts: ${known.join(', ') || 'none'})`,
      );
    }
    config.setCurrentContext(selection.context);
  }
  const namespace = config.getContextObject(config.getCurrentContext())?.namespace;
  return { config, namespace: namespace === '' ? undefined : namespace };
}
