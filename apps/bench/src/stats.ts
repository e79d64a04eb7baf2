/** Summary statistics of timing samples. Median and MAD resist the outliers GC and JIT add. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median absolute deviation from the median (unscaled, in the samples' unit). */
export function medianAbsoluteDeviation(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

export interface SampleSummary {
  medianMs: number;
  madMs: number;
  minMs: number;
}

export function summarize(samplesMs: readonly number[]): SampleSummary {
  return {
    medianMs: median(samplesMs),
    madMs: medianAbsoluteDeviation(samplesMs),
    minMs: Math.min(...samplesMs),
  };
}

/** Throughput from work per call and the median time: TFLOP/s = flops / s / 1e12. */
export function tflopsOf(flops: number, ms: number): number {
  return flops / (ms * 1e-3) / 1e12;
}

/** MB/s with 1 MB = 1e6 bytes. */
export function mbPerSecOf(bytes: number, ms: number): number {
  return bytes / (ms * 1e-3) / 1e6;
}
