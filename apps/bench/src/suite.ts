/**
 * The contract between the benchmark runner and its suites. A suite measures through
 * `ctx.measure`, which owns warm-up, repeats, statistics and the JSON record, so every suite
 * reports the same way and peers measured in the same run can be compared as ratios.
 */
export type Params = Record<string, string | number | boolean>;

export interface MeasureOptions {
  /** Floating-point operations per call, for TFLOP/s. */
  flops?: number;
  /** Bytes processed per call (e.g. input text), for MB/s. */
  bytes?: number;
  /** Override the runner's warm-up and repeat counts for this case. */
  warmup?: number;
  repeats?: number;
}

export interface Measurement {
  suite: string;
  /** What ran, e.g. `qkv` or a peer's package name (`tiktoken`). */
  name: string;
  params: Params;
  samplesMs: number[];
  medianMs: number;
  /** Median absolute deviation of the samples, in ms. */
  madMs: number;
  minMs: number;
  flops?: number;
  bytes?: number;
  /** Derived from the median when flops / bytes were given. */
  tflops?: number;
  mbPerSec?: number;
}

export interface SuiteContext {
  /** Tiny sizes and few repeats (CI smoke runs). */
  readonly quick: boolean;
  /** Time `fn` (awaited) and record the result. */
  measure(
    name: string,
    params: Params,
    fn: () => unknown | Promise<unknown>,
    options?: MeasureOptions,
  ): Promise<Measurement>;
  /** Progress and notes for the terminal. */
  log(message: string): void;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(ctx: SuiteContext): Promise<void>;
}
