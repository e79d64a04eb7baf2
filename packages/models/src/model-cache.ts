import { keep as keepTensor, narrow, type Tensor } from '@qkv/tensor';

/** One layer's keys and values so far: `[B, Hkv, S, D]`. */
export interface LayerKv {
  readonly keys: Tensor;
  readonly values: Tensor;
}

/**
 * The keys and values of every layer for the positions a causal model has seen, and which of
 * those positions were padding. A forward given the cache attends to them and appends its
 * own; the append happens only after the whole forward succeeded, so a forward that throws
 * leaves the cache as it was. With a sliding window (Mistral) only the last `window - 1`
 * positions are kept, all a later query can see: memory stays O(window) however long the
 * sequence, like Mistral's rolling buffer cache (Jiang et al. 2023).
 */
export class ModelCache {
  readonly batch: number;
  #layers: LayerKv[] = [];
  /** Per row, 1 for a token and 0 for padding, one entry per cached position. */
  #keyMask: number[][];
  /** Positions dropped from the front (sliding window), and the tokens among them per row. */
  #offset = 0;
  #droppedTokens: number[];

  constructor(batch: number) {
    this.batch = batch;
    this.#keyMask = Array.from({ length: batch }, () => []);
    this.#droppedTokens = Array(batch).fill(0);
  }

  /** Positions seen so far: the absolute position of the next one. */
  get position(): number {
    return this.#offset + this.length;
  }

  /** Positions dropped from the front; stored position j is absolute position offset + j. */
  get offset(): number {
    return this.#offset;
  }

  /** Per row, the tokens (not padding) among the dropped positions. */
  get droppedTokens(): readonly number[] {
    return this.#droppedTokens;
  }

  /** Cached (stored) positions. */
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

  /**
   * @internal Swap in the layers a successful forward built and record its mask rows; with
   * `keep`, drop all but the last `keep` positions.
   */
  commit(layers: readonly LayerKv[], newMask: readonly (readonly number[])[], keep?: number): void {
    this.#release();
    this.#keyMask = this.#keyMask.map((row, b) => [...row, ...newMask[b]!]);
    const drop = keep === undefined ? 0 : Math.max(0, this.length - keep);
    if (drop === 0) {
      this.#layers = [...layers];
      return;
    }
    const trimmed = (t: Tensor) => {
      const kept = keepTensor(narrow(t, 2, drop, t.shape[2]! - drop));
      t.dispose();
      return kept;
    };
    this.#layers = layers.map((l) => ({ keys: trimmed(l.keys), values: trimmed(l.values) }));
    this.#keyMask = this.#keyMask.map((row, b) => {
      this.#droppedTokens[b]! += row.slice(0, drop).reduce((a, m) => a + m, 0);
      return row.slice(drop);
    });
    this.#offset += drop;
  }

  /** Forget every position and release the tensors. */
  reset(): void {
    this.#release();
    this.#layers = [];
    this.#keyMask = Array.from({ length: this.batch }, () => []);
    this.#offset = 0;
    this.#droppedTokens = Array(this.batch).fill(0);
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
