import {
  type AttentionDims,
  attentionDims,
  cpuData,
  defaultAttentionScale,
  dot,
  formatShape,
  fromTypedArray,
  roundToFloat16,
  SoftmaxRow,
  type Tensor,
  type TypedArray,
} from '@qkv/tensor';
import { type CompiledExpr, compileJs } from './compile-js.js';
import { fail } from './errors.js';
import type { Expr } from './expr.js';
import { assertScoreMod } from './score-mods.js';

export interface RollingKvCacheOptions {
  /** Keys a query sees, itself included: the `window` of `slidingWindow(window)`. */
  window: number;
  /** Key / value heads. */
  kvHeads: number;
  headDim: number;
  valueDim?: number;
  batch?: number;
}

export interface RollingStepOptions {
  scale?: number;
  /** Sees absolute positions as `qIdx` / `kvIdx`, as in the full-sequence computation. */
  scoreMod?: Expr;
}

const WHERE = 'RollingKvCache';

/**
 * A fixed-size key / value cache for sliding-window decoding: the key of absolute position
 * p lives in slot `p mod window`, overwriting the one `window` positions back, so memory
 * stays O(window) however long the sequence. Each step's outputs equal rows of
 * `blockSparseAttention` over the whole sequence with `slidingWindow(window)` (Mistral's
 * rolling buffer cache, Jiang et al. 2023). CPU tensors in, CPU tensors out.
 */
export class RollingKvCache {
  readonly window: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly batch: number;
  #keys: Float32Array;
  #values: Float32Array;
  #position = 0;

  constructor(options: RollingKvCacheOptions) {
    const { window, kvHeads, headDim } = options;
    const valueDim = options.valueDim ?? headDim;
    const batch = options.batch ?? 1;
    for (const [name, v] of Object.entries({ window, kvHeads, headDim, valueDim, batch })) {
      if (!Number.isInteger(v) || v < 1)
        fail(WHERE, `${name} must be a positive integer, got ${v}`);
    }
    this.window = window;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.valueDim = valueDim;
    this.batch = batch;
    this.#keys = new Float32Array(batch * kvHeads * window * headDim);
    this.#values = new Float32Array(batch * kvHeads * window * valueDim);
  }

  /** Tokens appended so far: the absolute position of the next one. */
  get position(): number {
    return this.#position;
  }

  reset(): void {
    this.#position = 0;
  }

  /**
   * Append T tokens (k `[B, Hkv, T, E]`, v `[B, Hkv, T, Ev]`, rank 3 without B) and attend
   * the queries at those positions (q `[B, H, T, E]`; H a multiple of Hkv); each query sees
   * the `window` most recent keys up to its own. Returns `[B, H, T, Ev]`.
   */
  step(q: Tensor, k: Tensor, v: Tensor, options: RollingStepOptions = {}): Tensor {
    const d = attentionDims(WHERE, q, k, v);
    if (q.rank !== 3 && q.rank !== 4) {
      fail(WHERE, `q, k and v must be rank 3 or 4, got q ${formatShape(q.shape)}`);
    }
    if (d.queryLength !== d.kvLength) {
      fail(WHERE, `q has ${d.queryLength} new positions but k / v ${d.kvLength}`);
    }
    if (d.batch !== this.batch || d.kvHeads !== this.kvHeads) {
      fail(
        WHERE,
        `k has batch ${d.batch}, ${d.kvHeads} heads; the cache holds ${this.batch}, ${this.kvHeads}`,
      );
    }
    if (d.headDim !== this.headDim || d.valueDim !== this.valueDim) {
      fail(
        WHERE,
        `head sizes ${d.headDim} / ${d.valueDim} differ from the cache's ${this.headDim} / ${this.valueDim}`,
      );
    }
    if (q.device.backend !== 'cpu') fail(WHERE, `inputs must be CPU tensors, got ${q.device.name}`);
    if (options.scoreMod) assertScoreMod(WHERE, options.scoreMod);
    const scale = options.scale ?? defaultAttentionScale(d.headDim);
    const mod: CompiledExpr | undefined = options.scoreMod
      ? compileJs(options.scoreMod)
      : undefined;
    const [qd, kd, vd] = [cpuData(q), cpuData(k), cpuData(v)];
    // Slots are overwritten while the step runs: keep the old contents so a step that throws
    // (a score modifier can) leaves the cache as it was.
    const saved = [this.#keys.slice(), this.#values.slice()] as const;
    try {
      return this.#step(q, d, qd, kd, vd, scale, mod);
    } catch (error) {
      this.#keys = saved[0];
      this.#values = saved[1];
      throw error;
    }
  }

  #step(
    q: Tensor,
    d: AttentionDims,
    qd: TypedArray,
    kd: TypedArray,
    vd: TypedArray,
    scale: number,
    mod: CompiledExpr | undefined,
  ): Tensor {
    const T = d.queryLength;
    const E = this.headDim;
    const Ev = this.valueDim;
    const W = this.window;
    const group = d.qHeads / d.kvHeads;
    const out = new Float32Array(d.batch * d.qHeads * T * Ev);
    const row = new SoftmaxRow(Ev);
    const scores = new Float64Array(W);
    const valueRows = new Int32Array(W);
    for (let t = 0; t < T; t++) {
      const pos = this.#position + t;
      const slot = pos % W;
      for (let bi = 0; bi < d.batch; bi++) {
        for (let kh = 0; kh < d.kvHeads; kh++) {
          const src = (bi * d.kvHeads + kh) * T + t;
          const dst = (bi * d.kvHeads + kh) * W + slot;
          this.#keys.set(kd.subarray(src * E, (src + 1) * E), dst * E);
          this.#values.set(vd.subarray(src * Ev, (src + 1) * Ev), dst * Ev);
        }
        for (let hi = 0; hi < d.qHeads; hi++) {
          const cacheBase = (bi * d.kvHeads + Math.floor(hi / group)) * W;
          const qRow = (bi * d.qHeads + hi) * T + t;
          row.reset();
          let n = 0;
          for (let p = Math.max(0, pos - W + 1); p <= pos; p++) {
            const at = cacheBase + (p % W);
            const s = dot(qd, qRow * E, this.#keys, at * E, E) * scale;
            scores[n] = mod ? mod(bi, hi, pos, p, s) : s;
            valueRows[n++] = at * Ev;
          }
          row.addBlock(scores, valueRows, n, this.#values);
          row.writeTo(out, qRow * Ev);
        }
      }
    }
    this.#position += T;
    if (q.dtype === 'float16')
      for (let i = 0; i < out.length; i++) out[i] = roundToFloat16(out[i]!);
    const shape = q.rank === 4 ? [d.batch, d.qHeads, T, Ev] : [d.qHeads, T, Ev];
    return fromTypedArray(out, shape, q.dtype, q.device);
  }
}
