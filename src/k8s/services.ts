/** Services: the operator only checks that a LoadTest's target exists. */
import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';

export interface ServiceClient {
  get(namespace: string, name: string): Promise<V1Service | undefined>;
}

export class KubernetesServices implements ServiceClient {
  private readonly api: CoreV1Api;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(CoreV1Api);
  }

  async get(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
      return await this.api.readNamespacedService({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
