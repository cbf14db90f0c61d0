/**
 * The operator's side of a runner pod's control endpoint (src/runner/control-api.ts): where the endpoint is, and
 * the run's token, kept in a Secret. The calls themselves are src/runner/control-client.ts.
 */
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { SecretClient } from '../../src/k8s/index.js';
import type { LoadTestRef } from '../../src/loadtest/workflow-id.js';
import { labelSafe } from '../../src/runner/contract.js';
import { CONTROL_PORT_NAME } from '../../src/runner/control-api.js';

export { ControlRefused, RunnerControl } from '../../src/runner/control-client.js';

/** The key of the token in the run's control Secret. */
export const CONTROL_TOKEN_KEY = 'token';

/** `<loadtest>-g<generation>-control`: one Secret per run, so a new generation gets a new token. */
export function controlSecretName(loadTest: LoadTestRef, generation: number): string {
  const suffix = `-g${generation}-control`;
  return `${labelSafe(loadTest.name, 63 - suffix.length)}${suffix}`;
}

/** The Secret holding a new run's token, owned by the LoadTest (deleted with it) and labelled like its runners. */
export function controlSecretManifest(
  loadTest: LoadTestRef,
  generation: number,
  labels: Record<string, string>,
  ownerReference: NonNullable<V1Secret['metadata']>['ownerReferences'],
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: controlSecretName(loadTest, generation),
      namespace: loadTest.namespace,
      labels,
      ownerReferences: ownerReference,
    },
    // 256 random bits: guessing is out of the question, and the value never leaves the Secret and the worker.
    stringData: { [CONTROL_TOKEN_KEY]: randomBytes(32).toString('base64url') },
  };
}

/** Decodes the token from a Secret as the API returns it (base64 `data`). */
export function tokenOf(secret: V1Secret | undefined): string | undefined {
  const encoded = secret?.data?.[CONTROL_TOKEN_KEY];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Tokens by run, read once per worker: the Secret never changes during a run. */
export class ControlTokens {
  private readonly tokens = new Map<string, Promise<string | undefined>>();

  constructor(private readonly secrets: SecretClient) {}

  /** Remembers the token of a Secret this worker created or read. */
  remember(loadTest: LoadTestRef, generation: number, token: string): void {
    this.tokens.set(this.key(loadTest, generation), Promise.resolve(token));
  }

  /** The run's token, or undefined when its Secret does not exist (a run started before control endpoints). */
  get(loadTest: LoadTestRef, generation: number): Promise<string | undefined> {
    const key = this.key(loadTest, generation);
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.secrets.get(loadTest.namespace, controlSecretName(loadTest, generation)).then(tokenOf);
      // A failed read is not remembered: the next call tries again.
      token.then(
        (value) => value === undefined && this.tokens.delete(key),
        () => this.tokens.delete(key),
      );
      this.tokens.set(key, token);
    }
    return token;
  }

  private key(loadTest: LoadTestRef, generation: number): string {
    return `${loadTest.uid}/${generation}`;
  }
}

/** `http://<pod IP>:<control port>`, or undefined when the pod has no IP yet or no control port. */
export function controlAddress(pod: V1Pod | undefined): string | undefined {
  const ip = pod?.status?.podIP;
  const port = pod?.spec?.containers
    .flatMap((container) => container.ports ?? [])
    .find((candidate) => candidate.name === CONTROL_PORT_NAME)?.containerPort;
  if (ip === undefined || port === undefined) return undefined;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}
