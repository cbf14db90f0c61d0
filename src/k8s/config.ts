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
