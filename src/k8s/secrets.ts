/** Secrets: the operator keeps each run's runner control token in one, which only its runners receive. */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { isAlreadyExists, isNotFound } from './errors.js';

export interface SecretClient {
  /** Creates the Secret; when one of that name exists, returns it instead (`created: false`). */
  create(secret: V1Secret): Promise<{ created: boolean; secret: V1Secret }>;
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Deletes the Secret; false when it did not exist. */
  delete(namespace: string, name: string): Promise<boolean>;
}

export class KubernetesSecrets implements SecretClient {
  private readonly api: CoreV1Api;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(CoreV1Api);
  }

  async create(secret: V1Secret): Promise<{ created: boolean; secret: V1Secret }> {
    const namespace = secret.metadata?.namespace ?? 'default';
    try {
      return { created: true, secret: await this.api.createNamespacedSecret({ namespace, body: secret }) };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await this.get(namespace, secret.metadata?.name ?? '');
      if (existing === undefined) throw error;
      return { created: false, secret: existing };
    }
  }

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.api.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedSecret({ namespace, name });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
