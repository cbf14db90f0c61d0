/**
 * What `run` (in a cluster) and `cancel` need from Kubernetes: create-or-update a LoadTest as `kubectl apply
 * --server-side` does, and delete one. Reads go through the operator's Kubernetes module (src/k8s).
 *
 * TODO(core): apply() and delete() belong in src/k8s/loadtests.ts (LoadTestClient), the module that owns every
 * Kubernetes API call; they live here only until that module offers them, and move there unchanged.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createKubernetes, describeApiError, isNotFound, loadKubeConfig, type LoadTestObject } from '../k8s/index.js';
import {
  LOADTEST_API_VERSION,
  LOADTEST_GROUP,
  LOADTEST_KIND,
  LOADTEST_PLURAL,
  LOADTEST_VERSION,
} from '../loadtest/spec.js';
import { unavailableError } from './common.js';
import type { LoadTestManifest } from './load-file.js';

/** The field manager of objects this CLI applies (shown in managedFields). */
export const FIELD_MANAGER = 'loadtest-operator-cli';

export interface LoadTestWriter {
  get(namespace: string, name: string): Promise<LoadTestObject | undefined>;
  /** Creates the LoadTest or updates its spec and labels; returns the object with its uid and generation. */
  apply(manifest: LoadTestManifest): Promise<LoadTestObject>;
  /** Deletes the LoadTest; false when it did not exist. */
  delete(namespace: string, name: string): Promise<boolean>;
}

/** A writer for the cluster KUBECONFIG names (else in-cluster, else ~/.kube/config); CliError when there is none. */
export function connectKubernetes(): LoadTestWriter {
  let kube;
  try {
    kube = createKubernetes(loadKubeConfig(process.env.KUBECONFIG || undefined));
  } catch (error) {
    throw unavailableError(`no Kubernetes cluster to run in (${describeApiError(error)}); use --local to run here`);
  }
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const resource = { group: LOADTEST_GROUP, version: LOADTEST_VERSION, plural: LOADTEST_PLURAL };
  return {
    get: (namespace, name) => kube.loadTests.get(namespace, name),
    async apply(manifest) {
      const body = {
        apiVersion: LOADTEST_API_VERSION,
        kind: LOADTEST_KIND,
        metadata: { name: manifest.name, namespace: manifest.namespace, labels: manifest.labels },
        spec: manifest.specAsWritten,
      };
      return (await api.patchNamespacedCustomObject(
        {
          ...resource,
          namespace: manifest.namespace,
          name: manifest.name,
          body,
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      )) as LoadTestObject;
    },
    async delete(namespace, name) {
      try {
        await api.deleteNamespacedCustomObject({ ...resource, namespace, name });
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
  };
}
