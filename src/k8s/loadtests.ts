/**
 * LoadTest objects: read, list, status updates (always through the status subresource, as a merge patch), and
 * the server-side apply and delete that the CLI's `run` and `cancel` use.
 */
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import {
  LOADTEST_API_VERSION,
  LOADTEST_GROUP,
  LOADTEST_KIND,
  LOADTEST_PLURAL,
  LOADTEST_VERSION,
  type LoadTestStatus,
} from '../loadtest/spec.js';
import { apiStatusCode, isNotFound } from './errors.js';

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
  /** Every LoadTest, or those of one namespace. */
  list(namespace?: string): Promise<LoadTestList>;
  /**
   * Merges `status` into `.status`. With `resourceVersion`, only into that version of the object: when it has
   * changed since (or the object is another one of the same name), the API server refuses with 409 Conflict
   * (isConflict) and writes nothing, so a patch computed from a cached copy never overwrites what it did not see.
   */
  patchStatus(
    namespace: string,
    name: string,
    status: LoadTestStatusPatch,
    precondition?: { resourceVersion: string },
  ): Promise<void>;
  /**
   * Deletes the LoadTest with this uid (its runner pods go with it); false when it does not exist, or exists with
   * another uid (a LoadTest of the same name created since, which is not this one to delete).
   */
  deleteWithUid(namespace: string, name: string, uid: string): Promise<boolean>;
}

/** What to apply: the LoadTest's identity, labels and spec as the user wrote it. */
export interface LoadTestApply {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  spec: unknown;
}

/** The API path a LoadTest informer watches: every namespace, or one. */
export function loadTestsPath(namespace?: string): string {
  const scope = namespace === undefined ? '' : `/namespaces/${namespace}`;
  return `/apis/${LOADTEST_GROUP}/${LOADTEST_VERSION}${scope}/${LOADTEST_PLURAL}`;
}

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

  async list(namespace?: string): Promise<LoadTestList> {
    type List = { items: LoadTestObject[]; metadata?: { resourceVersion?: string } };
    const list =
      namespace === undefined
        ? ((await this.api.listClusterCustomObject(this.resource)) as List)
        : ((await this.api.listNamespacedCustomObject({ ...this.resource, namespace })) as List);
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async patchStatus(
    namespace: string,
    name: string,
    status: LoadTestStatusPatch,
    precondition?: { resourceVersion: string },
  ): Promise<void> {
    const body = precondition === undefined ? { status } : { metadata: { ...precondition }, status };
    await this.api.patchNamespacedCustomObjectStatus(
      { ...this.resource, namespace, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /**
   * Creates the LoadTest or updates its spec and labels, as `kubectl apply --server-side --force-conflicts` does,
   * owning the fields as `fieldManager`. Returns the object with its uid and generation.
   */
  async apply(loadTest: LoadTestApply, fieldManager: string): Promise<LoadTestObject> {
    const { namespace, name, labels, spec } = loadTest;
    const body = { apiVersion: LOADTEST_API_VERSION, kind: LOADTEST_KIND, metadata: { name, namespace, labels }, spec };
    return (await this.api.patchNamespacedCustomObject(
      { ...this.resource, namespace, name, body, fieldManager, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    )) as LoadTestObject;
  }

  /** Deletes the LoadTest (its runner pods go with it); false when it did not exist. */
  async delete(namespace: string, name: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...this.resource, namespace, name });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async deleteWithUid(namespace: string, name: string, uid: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({
        ...this.resource,
        namespace,
        name,
        body: { preconditions: { uid } },
      });
      return true;
    } catch (error) {
      // 409 Conflict: the uid precondition failed, so the object of that name is another one.
      if (isNotFound(error) || apiStatusCode(error) === 409) return false;
      throw error;
    }
  }

  private get resource() {
    return { group: LOADTEST_GROUP, version: LOADTEST_VERSION, plural: LOADTEST_PLURAL };
  }
}
