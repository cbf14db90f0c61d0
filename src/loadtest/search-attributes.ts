/**
 * Typed search attributes every LoadTest workflow carries, so runs can be found by namespace, name, state and
 * generation in the Temporal Web UI, `temporal workflow list --query` and the typed client.
 * Production servers need them registered once (see README, "Temporal server set-up"); the dev server started
 * by the test bed and by local mode registers them with `--search-attribute`.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { LoadTestState } from './spec.js';
import type { LoadTestRef } from './workflow-id.js';

export const LOADTEST_NAMESPACE = defineSearchAttributeKey('LoadTestNamespace', SearchAttributeType.KEYWORD);
export const LOADTEST_NAME = defineSearchAttributeKey('LoadTestName', SearchAttributeType.KEYWORD);
export const LOADTEST_STATE = defineSearchAttributeKey('LoadTestState', SearchAttributeType.KEYWORD);
export const LOADTEST_GENERATION = defineSearchAttributeKey('LoadTestGeneration', SearchAttributeType.INT);

/** Name → type as `temporal server start-dev --search-attribute` and `temporal operator search-attribute create` take them. */
export const SEARCH_ATTRIBUTE_DEFINITIONS: ReadonlyArray<{ name: string; type: 'Keyword' | 'Int' }> = [
  { name: LOADTEST_NAMESPACE.name, type: 'Keyword' },
  { name: LOADTEST_NAME.name, type: 'Keyword' },
  { name: LOADTEST_STATE.name, type: 'Keyword' },
  { name: LOADTEST_GENERATION.name, type: 'Int' },
];

/** The values a LoadTest workflow carries: set when it starts, and upserted by the workflow on every state. */
export function loadTestSearchAttributes(
  loadTest: Pick<LoadTestRef, 'namespace' | 'name'>,
  state: LoadTestState,
  generation: number,
): SearchAttributePair[] {
  return [
    { key: LOADTEST_NAMESPACE, value: loadTest.namespace },
    { key: LOADTEST_NAME, value: loadTest.name },
    { key: LOADTEST_STATE, value: state },
    { key: LOADTEST_GENERATION, value: generation },
  ];
}
