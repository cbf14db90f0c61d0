/** Kubernetes Events about a LoadTest, named so that a retried activity posts each one once. Pure. */
import type { CoreV1Event } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { LOADTEST_API_VERSION, LOADTEST_KIND } from '../../src/loadtest/spec.js';
import type { LoadTestEvent, LoadTestRef } from '../types.js';

export const EVENT_SOURCE = 'loadtest-operator';
const MESSAGE_LIMIT = 1024;

/** `<name>.<hash of uid, generation, reason>`: one Event per LoadTest, generation and reason. */
export function eventName(loadTest: LoadTestRef, event: LoadTestEvent): string {
  const hash = createHash('sha256')
    .update(`${loadTest.uid}/${event.generation}/${event.reason}`)
    .digest('hex')
    .slice(0, 16);
  return `${loadTest.name.slice(0, 200)}.${hash}`;
}

export function eventManifest(loadTest: LoadTestRef, event: LoadTestEvent, now: Date, instance: string): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(loadTest, event), namespace: loadTest.namespace },
    involvedObject: {
      apiVersion: LOADTEST_API_VERSION,
      kind: LOADTEST_KIND,
      namespace: loadTest.namespace,
      name: loadTest.name,
      uid: loadTest.uid,
    },
    type: event.type,
    reason: event.reason,
    message: event.message.length > MESSAGE_LIMIT ? `${event.message.slice(0, MESSAGE_LIMIT - 1)}…` : event.message,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
