/** LoadTest objects: read, list and status updates (always through the status subresource, as a merge patch). */
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { LOADTEST_GROUP, LOADTEST_PLURAL, LOADTEST_VERSION, type LoadTestStatus } from '../loadtest/spec.js';
import { isNotFound } from './errors.js';

/** A LoadTest as the API server returns it; `spec` is validated by whoever uses it. */
export interface LoadTestObject extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec?: unknown;
  status?: LoadTestStatus & { conditions?: unknown[] };
}

export interface LoadTestList {
  items: LoadTestObject[];
  resourceVersion: string;
}

/** `.status` fields as written by a merge patch; null removes a field. */
export type LoadTestStatusPatch = { [K in keyof LoadTestStatus]?: LoadTestStatus[K] | null } & {
  conditions?: unknown[];
};

export interface LoadTestClient {
  get(namespace: string, name: string): Promise<LoadTestObject | undefined>;
  list(): Promise<LoadTestList>;
  patchStatus(namespace: string, name: string, status: LoadTestStatusPatch): Promise<void>;
}

/** The API path a LoadTest informer watches (every namespace). */
export const LOADTESTS_PATH = `/apis/${LOADTEST_GROUP}/${LOADTEST_VERSION}/${LOADTEST_PLURAL}`;

export class KubernetesLoadTests implements LoadTestClient {
  private readonly api: CustomObjectsApi;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(CustomObjectsApi);
  }

  /** The LoadTest, or undefined when it does not exist. */
  async get(namespace: string, name: string): Promise<LoadTestObject | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.resource, namespace, name })) as LoadTestObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<LoadTestList> {
    const list = (await this.api.listClusterCustomObject(this.resource)) as {
      items: LoadTestObject[];
      metadata?: { resourceVersion?: string };
    };
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async patchStatus(namespace: string, name: string, status: LoadTestStatusPatch): Promise<void> {
    await this.api.patchNamespacedCustomObjectStatus(
      { ...this.resource, namespace, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private get resource() {
    return { group: LOADTEST_GROUP, version: LOADTEST_VERSION, plural: LOADTEST_PLURAL };
  }
}
