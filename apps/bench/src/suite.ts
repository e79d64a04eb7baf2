/**
 * The contract between the benchmark runner and its suites. A suite measures through
 * `ctx.measure`, which owns warm-up, repeats, statistics and the JSON record, so every suite
 * reports the same way and peers measured in the same run can be compared as ratios.
 */
import type { Device, Tensor } from '@qkv/tensor';

export type Params = Record<string, string | number | boolean>;

export interface MeasureOptions {
  /** Floating-point operations per call, for TFLOP/s. */
  flops?: number;
  /** Bytes processed per call (e.g. input text), for MB/s. */
  bytes?: number;
  /** Override the runner's warm-up and repeat counts for this case. */
  warmup?: number;
  repeats?: number;
  /** The numeric param the dashboard plots on its x axis (e.g. `n`, `seqLen`). */
  x?: string;
  /**
   * The line this case belongs to on the dashboard (e.g. `square`, `heads=8 k=64`); without
   * it the params other than `x` name the line.
   */
  series?: string;
  /**
   * Settings of what ran that are not part of the case (e.g. a peer's thread count): shown
   * beside the result but not used to match peers, which compare on `params` alone.
   */
  config?: Params;
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
  /** Calls timed together per sample (each sample is their mean), when more than one. */
  callsPerSample?: number;
  /** Copied from `MeasureOptions`. */
  x?: string;
  series?: string;
  config?: Params;
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
  /** The qkv device chosen with `--device`; suites that run qkv ops use it (CPU if absent). */
  readonly device?: Device;
  /** Wait until the work that produced `t` has finished, so a timed call includes it. */
  settle?(t: Tensor): Promise<void>;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(ctx: SuiteContext): Promise<void>;
}
