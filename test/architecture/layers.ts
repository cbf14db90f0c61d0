/**
 * The layers of the product code, bottom first: a file may import from its own layer and from layers below it,
 * never from one above. The README's "Layers" list is this table in words.
 */
export interface Layer {
  /** A folder (every file under it) or a single file, relative to the repository root. */
  path: string;
  what: string;
}

export const LAYERS: readonly Layer[] = [
  { path: 'src/util', what: 'process helpers: free ports, waiting for a condition' },
  { path: 'src/config.ts', what: 'the settings of every process, read from the environment' },
  { path: 'src/loadtest', what: 'the pure domain core: spec, durations, thresholds, ids, descriptions' },
  { path: 'src/runner', what: 'the load engine and the runner contract both backends share' },
  { path: 'activities/progress.ts', what: 'the live-progress heartbeat format' },
  { path: 'activities/types.ts', what: 'what the workflow asks of a backend (pure)' },
  { path: 'activities/live-run.ts', what: "both backends' merge of live snapshots and abort verdicts (pure)" },
  { path: 'workflows', what: 'deterministic orchestration, and how a LoadTest workflow is started' },
  { path: 'src/k8s', what: 'the one module that calls the Kubernetes API' },
  { path: 'src/temporal', what: 'the one module that connects to Temporal; dev server; workflow bundle' },
  { path: 'activities/schedules.ts', what: "Temporal Schedules of scheduled LoadTests (both backends')" },
  { path: 'activities/kubernetes', what: 'runners as pods' },
  { path: 'activities/local', what: 'runners as local processes' },
  { path: 'src/client', what: 'the typed client' },
  { path: 'src/operator', what: 'the long-running processes: worker, watcher, health' },
  { path: 'src/local', what: 'local mode: a dev server and an in-process worker' },
  { path: 'src/cli', what: 'the commands' },
  { path: 'src/cli.ts', what: 'entry point of the command line' },
  { path: 'src/index.ts', what: 'entry point of the package' },
];

/** The index in LAYERS of the layer a repository-relative file belongs to (the most specific path wins). */
export function layerOf(file: string): number | undefined {
  let best: number | undefined;
  LAYERS.forEach((layer, index) => {
    const matches = file === layer.path || file.startsWith(`${layer.path}/`);
    if (matches && (best === undefined || layer.path.length > LAYERS[best]!.path.length)) best = index;
  });
  return best;
}
