/** Pods: the operator creates, annotates, lists and deletes runner pods. */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { isAlreadyExists, isNotFound } from './errors.js';

export interface PodClient {
  /** Creates the pod; when one of that name exists, returns it instead (`created: false`). */
  create(pod: V1Pod): Promise<{ created: boolean; pod: V1Pod }>;
  get(namespace: string, name: string): Promise<V1Pod | undefined>;
  list(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** Merges `annotations` into the pod's; false when the pod does not exist. */
  annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<boolean>;
  /** Deletes the pod (with its own grace period unless given); false when it did not exist. */
  delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean>;
}

export class KubernetesPods implements PodClient {
  private readonly api: CoreV1Api;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(CoreV1Api);
  }

  async create(pod: V1Pod): Promise<{ created: boolean; pod: V1Pod }> {
    const namespace = pod.metadata?.namespace ?? 'default';
    try {
      return { created: true, pod: await this.api.createNamespacedPod({ namespace, body: pod }) };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await this.get(namespace, pod.metadata?.name ?? '');
      if (existing === undefined) throw error;
      return { created: false, pod: existing };
    }
  }

  async get(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.api.readNamespacedPod({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.api.listNamespacedPod({ namespace, labelSelector })).items;
  }

  async annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<boolean> {
    try {
      await this.api.patchNamespacedPod(
        { namespace, name, body: { metadata: { annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean> {
    try {
      await this.api.deleteNamespacedPod({ namespace, name, gracePeriodSeconds });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
