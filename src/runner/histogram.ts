/**
 * Latency histograms: how the runner records them (µs, integers, HdrHistogram), encodes them into a summary
 * and decodes them again for merging. Recording uses the WebAssembly build of hdr-histogram-js, which costs
 * about a fifth of the JavaScript one per value on the hot path.
 */
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  initWebAssemblySync,
  type Histogram,
} from 'hdr-histogram-js';

/** Significant decimal digits of recorded latencies: 3 keeps every value within 0.1 %. */
export const RECORDING_PRECISION = 3;
/** Initial highest trackable value, µs (60 s); histograms grow beyond it on demand. */
const INITIAL_HIGHEST_US = 60_000_000;
/** Deflate level used when encoding; summaries are written once, so spend the CPU on size. */
const COMPRESSION_LEVEL = 9;

export type SignificantDigits = 0 | 1 | 2 | 3;

let webAssemblyReady: boolean | undefined;

function webAssemblyAvailable(): boolean {
  if (webAssemblyReady === undefined) {
    try {
      initWebAssemblySync();
      webAssemblyReady = true;
    } catch {
      webAssemblyReady = false;
    }
  }
  return webAssemblyReady;
}

/** A histogram for the hot path (WebAssembly when available). Call `destroy()` when done with it. */
export function createRecordingHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: INITIAL_HIGHEST_US,
    numberOfSignificantValueDigits: RECORDING_PRECISION,
    useWebAssembly: webAssemblyAvailable(),
  });
}

/** A plain JavaScript histogram, for merging and re-encoding (no manual memory management). */
export function createMergeHistogram(digits: SignificantDigits = RECORDING_PRECISION): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: INITIAL_HIGHEST_US,
    // hdr-histogram-js accepts 0 at runtime; its type only lists 1-5.
    numberOfSignificantValueDigits: digits as 1 | 2 | 3,
  });
}

export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram, COMPRESSION_LEVEL);
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = decodeFromCompressedBase64(encoded, 64);
  decoded.autoResize = true;
  return decoded;
}

/**
 * Re-records a histogram with fewer significant digits. HdrHistogram buckets nest, so every count lands in
 * the coarser bucket that contains its original one: counts are kept exactly, only resolution is lost.
 */
export function withPrecision(histogram: Histogram, digits: SignificantDigits): Histogram {
  const coarse = createMergeHistogram(digits);
  coarse.add(histogram);
  return coarse;
}

/** Latency statistics in milliseconds, as LoadTestResults reports them. */
export interface LatencyStatsMs {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

const microsToMs = (us: number): number => Math.round(us) / 1000;

export function latencyStatsMs(histogram: Histogram): LatencyStatsMs {
  if (histogram.totalCount === 0) return { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    p50: microsToMs(histogram.getValueAtPercentile(50)),
    p90: microsToMs(histogram.getValueAtPercentile(90)),
    p95: microsToMs(histogram.getValueAtPercentile(95)),
    p99: microsToMs(histogram.getValueAtPercentile(99)),
    p999: microsToMs(histogram.getValueAtPercentile(99.9)),
    // The top bucket's upper end, like the percentiles: an encoded histogram does not keep the exact maximum.
    max: microsToMs(histogram.getValueAtPercentile(100)),
    mean: microsToMs(histogram.mean),
  };
}
