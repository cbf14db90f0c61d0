/**
 * What the commands need from Kubernetes: get, list, server-side apply and delete of LoadTests, through the
 * operator's Kubernetes module (src/k8s), which owns every API call; and the cluster and namespace that
 * --kubeconfig, --context and -n select, chosen as kubectl chooses them.
 */
import {
  createKubernetes,
  describeApiError,
  KubeSelectionError,
  selectKubeConfig,
  type LoadTestObject,
} from '../k8s/index.js';
import { unavailableError, usageError, type KubeFlags } from './common.js';
import type { LoadTestManifest } from './load-file.js';

/** The field manager of objects this CLI applies (shown in managedFields). */
export const FIELD_MANAGER = 'loadtest-operator-cli';

export interface LoadTestReader {
  get(namespace: string, name: string): Promise<LoadTestObject | undefined>;
  /** Every LoadTest, or those of one namespace. */
  list(namespace?: string): Promise<LoadTestObject[]>;
}

export interface LoadTestWriter extends LoadTestReader {
  /** Creates the LoadTest or updates its spec and labels; returns the object with its uid and generation. */
  apply(manifest: LoadTestManifest): Promise<LoadTestObject>;
  /** Deletes the LoadTest; false when it did not exist. */
  delete(namespace: string, name: string): Promise<boolean>;
}

/**
 * A client for the cluster the flags select (else KUBECONFIG, else in-cluster, else ~/.kube/config). A kubeconfig
 * that cannot be read or an unknown --context is bad input (exit 2); no cluster at all is exit 3.
 */
export function connectKubernetes(flags: KubeFlags = {}): LoadTestWriter {
  let config;
  try {
    config = selectKubeConfig(flags).config;
  } catch (error) {
    if (error instanceof KubeSelectionError && (flags.kubeconfig !== undefined || flags.context !== undefined)) {
      throw usageError(error.message);
    }
    throw unavailableError(`no Kubernetes cluster to run in (${describeApiError(error)}); use --local to run here`);
  }
  const { loadTests } = createKubernetes(config);
  return {
    get: (namespace, name) => loadTests.get(namespace, name),
    list: async (namespace) => (await loadTests.list(namespace)).items,
    // The spec as written: the API server fills in the CRD's defaults itself.
    apply: (manifest) => loadTests.apply({ ...manifest, spec: manifest.specAsWritten }, FIELD_MANAGER),
    delete: (namespace, name) => loadTests.delete(namespace, name),
  };
}

/**
 * The namespace a command acts in: -n, else the namespace of the kubeconfig context (as kubectl), else
 * `default`. A bad --kubeconfig or --context is bad input; a missing kubeconfig just means `default`.
 */
export function resolveNamespace(flags: KubeFlags & { namespace?: string }): string {
  if (flags.namespace !== undefined) return flags.namespace;
  try {
    return selectKubeConfig(flags).namespace ?? 'default';
  } catch (error) {
    if (flags.kubeconfig !== undefined || flags.context !== undefined) {
      throw usageError(error instanceof Error ? error.message : String(error));
    }
    return 'default';
  }
}
