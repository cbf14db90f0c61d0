/** Kubernetes Events (core/v1) about an object, as `kubectl describe` shows them. */
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { isAlreadyExists } from './errors.js';

export interface EventClient {
  /** Creates the event; an event of the same name already there counts as success (retries stay single). */
  create(event: CoreV1Event): Promise<void>;
}

export class KubernetesEvents implements EventClient {
  private readonly api: CoreV1Api;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(CoreV1Api);
  }

  async create(event: CoreV1Event): Promise<void> {
    try {
      await this.api.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
}
