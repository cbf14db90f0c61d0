/**
 * The one module that talks to the Kubernetes API. Everything else receives these clients (or fakes of their
 * interfaces in tests) and never imports @kubernetes/client-node itself.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ResilientInformer, type InformerOptions } from './informer.js';
import { KubernetesEvents, type EventClient } from './events.js';
import { KubernetesLoadTests, loadTestsPath, type LoadTestClient, type LoadTestObject } from './loadtests.js';
import { KubernetesPods, type PodClient } from './pods.js';
import { KubernetesSecrets, type SecretClient } from './secrets.js';
import { KubernetesServices, type ServiceClient } from './services.js';
import { RUNNER_SELECTOR } from './labels.js';

export { loadKubeConfig, selectKubeConfig, KubeSelectionError, type KubeSelection } from './config.js';
export * from './errors.js';
export * from './labels.js';
export type { EventClient, LoadTestClient, LoadTestObject, PodClient, SecretClient, ServiceClient };
export type { LoadTestApply, LoadTestList, LoadTestStatusPatch } from './loadtests.js';
export { ResilientInformer, WatchStalledError, type InformerOptions } from './informer.js';

export interface Kubernetes {
  config: KubeConfig;
  loadTests: KubernetesLoadTests;
  pods: PodClient;
  services: ServiceClient;
  secrets: SecretClient;
  events: EventClient;
}

export function createKubernetes(config: KubeConfig): Kubernetes {
  return {
    config,
    loadTests: new KubernetesLoadTests(config),
    pods: new KubernetesPods(config),
    services: new KubernetesServices(config),
    secrets: new KubernetesSecrets(config),
    events: new KubernetesEvents(config),
  };
}

/** Every LoadTest in every namespace (or in `namespace` only), kept current: what the watcher reconciles. */
export function loadTestInformer(
  kube: Kubernetes,
  options?: InformerOptions,
  namespace?: string,
): ResilientInformer<LoadTestObject> {
  return new ResilientInformer<LoadTestObject>(
    kube.config,
    { path: loadTestsPath(namespace), list: () => kube.loadTests.list(namespace) },
    options,
  );
}

/**
 * Every runner pod in every namespace (or in `namespace` only), kept current: the one informer a worker shares
 * between all the activities that wait on runners, so waiting costs no API call per check.
 */
export function runnerPodInformer(
  kube: Kubernetes,
  options?: InformerOptions,
  namespace?: string,
): ResilientInformer<V1Pod> {
  const core = kube.config.makeApiClient(CoreV1Api);
  return new ResilientInformer<V1Pod>(
    kube.config,
    {
      path: namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`,
      labelSelector: RUNNER_SELECTOR,
      list: async () => {
        const labelSelector = RUNNER_SELECTOR;
        const list =
          namespace === undefined
            ? await core.listPodForAllNamespaces({ labelSelector })
            : await core.listNamespacedPod({ namespace, labelSelector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
    },
    options,
  );
}
