/**
 * The contract between the benchmark runner and its suites. A suite measures through
 * `ctx.measure`, which owns warm-up, repeats, statistics and the JSON record, so every suite
 * reports the same way and peers measured in the same run can be compared as ratios.
 */
import type { Device, Tensor } from '@qkv/tensor';

export type Params = Record<string, string | number | boolean>;

/** See `MeasureOptions.role`. */
export type Role = 'peer' | 'variant' | 'part';

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
   * The chart a line is drawn on when a suite has more lines than one chart can hold
   * (e.g. `D=64`, `N² patterns`); lines of one group share a chart.
   */
  group?: string;
  /**
   * How the measurement relates to qkv's op on the same case (default from the name, see
   * `roleOf`): `peer` another implementation, compared as a ratio; `variant` another path of
   * qkv's own (e.g. `qkv materialised`), compared apart from peers; `part` one step of qkv's
   * op timed alone (e.g. building a block mask), never compared.
   */
  role?: Role;
  /**
   * Settings of what ran that are not part of the case (e.g. a peer's thread count): shown
   * beside the result but not used to match peers, which compare on `params` alone.
   */
  config?: Params;
  /**
   * Record the device's peak memory over the case (default true where the device reports
   * it); off for work that does not run on that device, such as a CPU peer in a GPU run.
   */
  trackMemory?: boolean;
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
  group?: string;
  role?: Role;
  config?: Params;
  /**
   * Highest device memory in use, in bytes, from just before the warm-up to the last sample
   * (inputs already on the device included), where the device reports it (WebGPU).
   */
  peakBytes?: number;
}

/** A device's memory counters (`WebGPUDevice.bytesInUse` / `peakBytes` / `resetPeakBytes`). */
export interface MemoryProbe {
  bytesInUse(): number;
  peakBytes(): number;
  resetPeak(): void;
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
  /** The device's memory counters, where it has them (WebGPU). */
  readonly memory?: MemoryProbe;
  /**
   * Force the attention path of `@qkv/kernels` (WebGPU only; `auto` restores the default);
   * returns the previous setting.
   */
  readonly setAttentionPath?: (path: AttentionPath) => string;
}

/** The WebGPU attention paths of `@qkv/kernels`' `setAttentionPath`. */
export type AttentionPath = 'auto' | 'fused' | 'decode';

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(ctx: SuiteContext): Promise<void>;
}
