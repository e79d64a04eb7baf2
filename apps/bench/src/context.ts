import { formatBytes, formatMs, formatParams, formatRate } from './format.js';
import type { ProgressSink } from './progress.js';
import { mbPerSecOf, summarize, tflopsOf } from './stats.js';
import type { Measurement, MeasureOptions, MemoryProbe, Params, SuiteContext } from './suite.js';

export interface RunnerSettings {
  quick: boolean;
  /** Untimed calls before sampling (JIT, pipeline compilation, buffer pools). */
  warmup: number;
  repeats: number;
  /**
   * Stop sampling a case once this much time has been spent on it, as long as `minRepeats`
   * samples exist: slow cases (a large CPU matmul) still finish in bounded time.
   */
  budgetMs: number;
  minRepeats: number;
  /**
   * When above 0, each sample repeats the call until it lasts this long and records the mean
   * per call: browsers coarsen `performance.now()` to 0.1 ms or more, too coarse for a
   * single small call.
   */
  minSampleMs: number;
}

export const DEFAULT_SETTINGS: RunnerSettings = {
  quick: false,
  warmup: 2,
  repeats: 10,
  budgetMs: 10_000,
  minRepeats: 3,
  minSampleMs: 0,
};

export const QUICK_SETTINGS: RunnerSettings = {
  quick: true,
  warmup: 1,
  repeats: 3,
  budgetMs: 2_000,
  minRepeats: 2,
  minSampleMs: 0,
};

/** Calls per sample so one sample lasts at least `minMs` (doubling from one call). */
async function callsPerSample(fn: () => unknown, minMs: number): Promise<number> {
  if (minMs <= 0) return 1;
  // 2^20 calls bound the search when a call is too quick for the clock to see.
  for (let calls = 1; calls < 1 << 20; calls *= 2) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    if (performance.now() - t0 >= minMs) return calls;
  }
  return 1 << 20;
}

/** The `SuiteContext` one suite runs with; measurements land in `results`. */
export function createContext(
  suite: string,
  settings: RunnerSettings,
  progress: ProgressSink,
  results: Measurement[],
  memory?: MemoryProbe,
): SuiteContext {
  return {
    quick: settings.quick,
    ...(memory ? { memory } : {}),
    log: (message) => progress.line(`  ${suite}: ${message}`),
    async measure(name, params, fn, options: MeasureOptions = {}) {
      const label = `${suite} ${name} ${formatParams(params)}`;
      const warmup = options.warmup ?? settings.warmup;
      const repeats = options.repeats ?? settings.repeats;
      const total = warmup + repeats;
      const tracked = memory && options.trackMemory !== false ? memory : undefined;
      tracked?.resetPeak();
      const started = performance.now();
      for (let i = 0; i < warmup; i++) {
        progress.update(label, i, total);
        await fn();
      }
      const calls = await callsPerSample(fn, settings.minSampleMs);
      const samplesMs: number[] = [];
      for (let i = 0; i < repeats; i++) {
        progress.update(label, warmup + i, total);
        const t0 = performance.now();
        for (let c = 0; c < calls; c++) await fn();
        samplesMs.push((performance.now() - t0) / calls);
        const spent = performance.now() - started;
        if (samplesMs.length >= settings.minRepeats && spent > settings.budgetMs) break;
      }
      const m = toMeasurement(suite, name, params, samplesMs, options);
      if (calls > 1) m.callsPerSample = calls;
      if (tracked) m.peakBytes = tracked.peakBytes();
      results.push(m);
      progress.line(describeMeasurement(m));
      return m;
    },
  };
}

export function toMeasurement(
  suite: string,
  name: string,
  params: Params,
  samplesMs: number[],
  options: MeasureOptions = {},
): Measurement {
  const stats = summarize(samplesMs);
  const m: Measurement = { suite, name, params, samplesMs, ...stats };
  // A median of 0 (a clock too coarse for the call) gives no rate rather than Infinity.
  const timed = stats.medianMs > 0;
  if (options.flops !== undefined) {
    m.flops = options.flops;
    if (timed) m.tflops = tflopsOf(options.flops, stats.medianMs);
  }
  if (options.bytes !== undefined) {
    m.bytes = options.bytes;
    if (timed) m.mbPerSec = mbPerSecOf(options.bytes, stats.medianMs);
  }
  if (options.x !== undefined) m.x = options.x;
  if (options.series !== undefined) m.series = options.series;
  if (options.group !== undefined) m.group = options.group;
  if (options.role !== undefined) m.role = options.role;
  if (options.config !== undefined) m.config = options.config;
  return m;
}

function describeMeasurement(m: Measurement): string {
  return [
    `${m.suite} ${m.name} ${formatParams(m.params)}:`,
    `median ${formatMs(m.medianMs)} ± ${formatMs(m.madMs)}`,
    `(min ${formatMs(m.minMs)}, ${m.samplesMs.length} samples)`,
    formatRate(m),
    m.peakBytes === undefined ? '' : `peak ${formatBytes(m.peakBytes)}`,
  ]
    .join(' ')
    .trimEnd();
}
