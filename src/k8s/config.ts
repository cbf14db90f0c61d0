/** Where the operator finds its cluster: KUBECONFIG when set, else the pod's service account, else ~/.kube/config. */
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';

/** Agents kept per set of TLS options: one in practice; a few when an exec plugin hands out new certificates. */
const MAX_AGENTS = 4;

/**
 * A KubeConfig whose API calls reuse their connections. @kubernetes/client-node 1.x builds a new https.Agent for
 * every request (KubeConfig.applySecurityAuthentication), so every call opened a new TCP connection and made a
 * full TLS handshake: measured with `npm run bench:operator -- --cpu-prof DIR`, TLS set-up (SecureContext,
 * handshake, getPeerCertificate) was about a sixth of the worker's CPU. Here the request gets an agent with
 * keep-alive, made once per set of TLS options. Proxied clusters keep the library's agents.
 */
export class ReusingKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, HttpsAgent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (!(made instanceof HttpsAgent) || made.constructor !== HttpsAgent || this.getCurrentCluster()?.proxyUrl) return;
    context.setAgent(this.reusableAgent(made.options));
  }

  private reusableAgent(options: AgentOptions): HttpsAgent {
    const key = createHash('sha256')
      .update(this.getCurrentCluster()?.server ?? '')
      .update(JSON.stringify(options))
      .digest('hex');
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = new HttpsAgent({ ...options, keepAlive: true });
      this.agents.set(key, agent);
      for (const [oldKey, old] of this.agents) {
        if (this.agents.size <= MAX_AGENTS) break;
        this.agents.delete(oldKey);
        old.destroy();
      }
    }
    return agent;
  }
}

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new ReusingKubeConfig();
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
