import type { Tensor } from '@qkv/tensor';

/** One layer's keys and values so far: `[B, Hkv, S, D]`. */
export interface LayerKv {
  readonly keys: Tensor;
  readonly values: Tensor;
}

/**
 * The keys and values of every layer for the positions a causal model has seen, and which of
 * those positions were padding. A forward given the cache attends to them and appends its
 * own; the append happens only after the whole forward succeeded, so a forward that throws
 * leaves the cache as it was.
 */
export class ModelCache {
  readonly batch: number;
  #layers: LayerKv[] = [];
  /** Per row, 1 for a token and 0 for padding, one entry per cached position. */
  #keyMask: number[][];

  constructor(batch: number) {
    this.batch = batch;
    this.#keyMask = Array.from({ length: batch }, () => []);
  }

  /** Cached positions. */
  get length(): number {
    return this.#keyMask[0]?.length ?? 0;
  }

  /** The 1 / 0 mask of the cached positions, row by row. */
  get keyMask(): readonly (readonly number[])[] {
    return this.#keyMask;
  }

  layer(index: number): LayerKv | undefined {
    return this.#layers[index];
  }

  /** Live tensors the cache holds (two per layer once it is filled). */
  get tensors(): readonly Tensor[] {
    return this.#layers.flatMap((l) => [l.keys, l.values]);
  }

  /** @internal Swap in the layers a successful forward built and record its mask rows. */
  commit(layers: readonly LayerKv[], newMask: readonly (readonly number[])[]): void {
    this.#release();
    this.#layers = [...layers];
    this.#keyMask = this.#keyMask.map((row, b) => [...row, ...newMask[b]!]);
  }

  /** Forget every position and release the tensors. */
  reset(): void {
    this.#release();
    this.#layers = [];
    this.#keyMask = Array.from({ length: this.batch }, () => []);
  }

  #release(): void {
    for (const old of this.#layers) {
      old.keys.dispose();
      old.values.dispose();
    }
  }

  dispose(): void {
    this.reset();
  }
}
