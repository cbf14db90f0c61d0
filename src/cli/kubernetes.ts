/**
 * What `run` (in a cluster) and `cancel` need from Kubernetes: get, server-side apply and delete of a LoadTest,
 * through the operator's Kubernetes module (src/k8s), which owns every API call.
 */
import { createKubernetes, describeApiError, loadKubeConfig, type LoadTestObject } from '../k8s/index.js';
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
  const { loadTests } = kube;
  return {
    get: (namespace, name) => loadTests.get(namespace, name),
    // The spec as written: the API server fills in the CRD's defaults itself.
    apply: (manifest) => loadTests.apply({ ...manifest, spec: manifest.specAsWritten }, FIELD_MANAGER),
    delete: (namespace, name) => loadTests.delete(namespace, name),
  };
}
