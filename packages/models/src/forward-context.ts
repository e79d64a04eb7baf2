import { compileJs, slidingWindow } from '@qkv/sparse';
import {
  type AttentionOptions,
  attention,
  attentionWeights,
  concat,
  type Device,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import type { LayerKv, ModelCache } from './model-cache.js';

export interface ForwardContextOptions {
  readonly device: Device;
  readonly batch: number;
  /** New positions in this forward. */
  readonly length: number;
  /** Causal (decoders) or bidirectional (BERT). */
  readonly causal: boolean;
  /** Mistral: each query sees itself and the `slidingWindow - 1` keys before it. */
  readonly slidingWindow?: number;
  /** 1 / 0 per new position, row by row (all ones when the caller gave no mask). */
  readonly mask: readonly (readonly number[])[];
  readonly cache?: ModelCache;
  readonly outputAttentions: boolean;
  /** Position ids from the mask (Hugging Face generate's cumsum − 1) rather than 0, 1, ... */
  readonly positionsFromMask: boolean;
}

/**
 * What one forward pass shares across layers: position ids, the attention mask (built once),
 * the cache it reads and the keys and values it will append, and the attention
 * probabilities when asked for. Architectures call `attend` and never see the masks.
 */
export class ForwardContext {
  readonly batch: number;
  readonly length: number;
  /** Cached positions before this forward. */
  readonly past: number;
  /** Position ids of the new tokens, `[B · L]` row-major. */
  readonly positions: Int32Array;
  readonly attentions: Tensor[] = [];
  readonly layers: LayerKv[] = [];
  readonly #options: ForwardContextOptions;
  /** Every row's 1 / 0 over past and new positions. */
  readonly #keyMask: number[][];
  #mask: Tensor | undefined;
  #maskBuilt = false;

  constructor(options: ForwardContextOptions) {
    this.#options = options;
    const { batch, length, cache } = options;
    this.batch = batch;
    this.length = length;
    this.past = cache?.length ?? 0;
    this.#keyMask = options.mask.map((row, b) => [...(cache?.keyMask[b] ?? []), ...row]);
    this.positions = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const row = this.#keyMask[b]!;
      let seen = 0;
      for (let j = 0; j < row.length; j++) {
        seen += row[j]!;
        if (j < this.past) continue;
        const i = j - this.past;
        // Hugging Face generate: position_ids = cumsum(mask) - 1, and 1 on padding.
        const pos = !options.positionsFromMask ? j : row[j] ? seen - 1 : 1;
        this.positions[b * length + i] = pos;
      }
    }
  }

  /** Largest position id in this forward. */
  get maxPosition(): number {
    return this.positions.reduce((m, p) => Math.max(m, p), 0);
  }

  /**
   * Attention for layer `layer`: q `[B, Hq, L, D]` against the cached keys and values plus
   * k, v `[B, Hkv, L, D]` (grouped-query when Hq > Hkv). Returns `[B, Hq, L, D]`.
   */
  attend(layer: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
    const cached = this.#options.cache?.layer(layer);
    const keys = cached ? concat([cached.keys, k], 2) : k;
    const values = cached ? concat([cached.values, v], 2) : v;
    if (this.#options.cache) this.layers[layer] = { keys, values };
    const options: AttentionOptions = {
      enableGqa: q.shape[1] !== k.shape[1],
      ...this.#maskOptions(),
    };
    if (this.#options.outputAttentions) this.attentions.push(attentionWeights(q, keys, options));
    return attention(q, keys, values, options);
  }

  #maskOptions(): AttentionOptions {
    if (!this.#maskBuilt) {
      this.#mask = this.#buildMask();
      this.#maskBuilt = true;
    }
    if (this.#mask) return { attnMask: this.#mask };
    return this.#options.causal ? { isCausal: true, causalAlignment: 'bottom-right' } : {};
  }

  /**
   * A bool `[B, 1, L, S]` mask (true = may attend) when padding or a sliding window rules
   * out keys the plain causal (or unmasked) attention would use; undefined otherwise.
   */
  #buildMask(): Tensor | undefined {
    const { batch, length, past } = this;
    const { causal, slidingWindow: window } = this.#options;
    const total = past + length;
    const padded = this.#keyMask.some((row) => row.some((m) => m === 0));
    const windowed = causal && window !== undefined && total > window;
    if (!padded && !windowed) return undefined;
    // The window is @qkv/sparse's causal sliding-window pattern, evaluated per (query, key).
    const allowed = windowed
      ? compileJs(slidingWindow(window))
      : causal
        ? (_b: number, _h: number, q: number, k: number) => (k <= q ? 1 : 0)
        : () => 1;
    const data = new Uint8Array(batch * length * total);
    for (let b = 0; b < batch; b++) {
      const row = this.#keyMask[b]!;
      for (let i = 0; i < length; i++) {
        for (let j = 0; j < total; j++) {
          data[(b * length + i) * total + j] = row[j] && allowed(b, 0, past + i, j, 0) ? 1 : 0;
        }
      }
    }
    return tensor(data, [batch, 1, length, total], { dtype: 'bool', device: this.#options.device });
  }

  /** The 1 / 0 rows of this forward's new positions. */
  get newMask(): readonly (readonly number[])[] {
    return this.#options.mask;
  }
}
