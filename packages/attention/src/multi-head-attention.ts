import { alibiSlopes } from '@qkv/positional';
import { type BlockMask, blockSparseAttention, type Mask } from '@qkv/sparse';
import {
  type AttentionOptions,
  attention,
  attentionWeights,
  concat,
  type Device,
  type DType,
  describeValue,
  formatShape,
  gather,
  getDefaultDevice,
  linear,
  mean,
  permute,
  type Random,
  scope,
  Tensor,
  tensor,
  transpose,
  zeros,
} from '@qkv/tensor';
import { dropout, dropoutRandom } from './dropout.js';
import { fail } from './errors.js';
import { KVCache } from './kv-cache.js';
import { checkMhaMasks, type MhaMaskInputs, toOpMasks } from './mha-masks.js';
import { MhaParameters } from './mha-parameters.js';
import { assertNoSparseClash, weightedValues } from './sdpa.js';
import { validateMhaForwardArgs, validateMhaOptions } from './validate-args.js';

/**
 * Rotary position embedding applied to the heads of q and k (`[N, H, T, D]`) before attention.
 * `offset` is the position of the first of the T rows (the KV cache length when decoding).
 * `RotaryEmbedding` from `@qkv/positional` is one (with every RoPE scaling); any object of
 * this shape works.
 */
export interface RotaryEmbedding {
  apply(x: Tensor, options: { offset?: number }): Tensor;
}

export interface MultiHeadAttentionOptions {
  embedDim: number;
  numHeads: number;
  /**
   * Key / value heads for grouped-query attention (Ainslie et al. 2023); 1 is multi-query
   * attention (Shazeer 2019). Must divide `numHeads`. Default `numHeads`.
   */
  numKvHeads?: number;
  /** Features of the key input (default `embedDim`). */
  kdim?: number;
  /** Features of the value input (default `embedDim`). */
  vdim?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Learned `bias_k` / `bias_v` appended to the keys and values as one extra position. */
  addBiasKv?: boolean;
  /** Append a zero key and value position after the projections. */
  addZeroAttn?: boolean;
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** Seeds the initial weights and the dropout generator. */
  seed?: number;
  /**
   * Inputs are `[N, L, E]` when true (the default here) and `[L, N, E]` when false.
   * PyTorch's default is `batch_first=False`: pass `batchFirst: false` to match it.
   */
  batchFirst?: boolean;
  device?: Device;
  dtype?: DType;
  /**
   * ALiBi (Press et al. 2022): `true` uses the paper's slopes for `numHeads` (from
   * `@qkv/positional`'s `alibiSlopes`, non-power-of-two head counts included); a tensor
   * `[numHeads]` gives them explicitly. Added to the scores as `-slope * distance`.
   */
  alibi?: Tensor | true;
  /** Rotary embedding for q and k; see {@link RotaryEmbedding}. */
  rope?: RotaryEmbedding;
}

export interface MultiHeadAttentionForwardOptions extends MhaMaskInputs {
  /** Return the attention weights (default true, as in PyTorch; false takes the fused path). */
  needWeights?: boolean;
  /** Average the weights over heads to `[N, L, S]` (default true) or keep `[N, H, L, S]`. */
  averageAttnWeights?: boolean;
  /**
   * Apply a causal mask (top-left aligned; bottom-right when decoding with `cache`). Unlike
   * PyTorch, where `is_causal` is only a hint about `attn_mask`, this applies the mask, and
   * with `attnMask` a key must pass both.
   */
  isCausal?: boolean;
  /** Self-attention decoding: append this call's keys and values, then attend to all of them. */
  cache?: KVCache;
  /**
   * A `@qkv/sparse` mask (pattern, expression or block mask) over query and key positions:
   * block-sparse attention that visits only the kept key blocks. It stands in for the other
   * masks, `isCausal`, `alibi` and the cache, and computes no weights (`needWeights: false`).
   */
  sparseMask?: Mask | BlockMask;
}

export interface MultiHeadAttentionOutput {
  /** `[N, L, E]` (`[L, N, E]` when not batch-first, `[L, E]` for unbatched input). */
  output: Tensor;
  /** `[N, L, S]` averaged over heads or `[N, H, L, S]`; absent unless `needWeights`. */
  weights?: Tensor;
}

/** Dimensions of one forward call, batch-first: N, L, S (this call's keys). */
interface InputDims {
  readonly n: number;
  readonly l: number;
  readonly s: number;
  /** The input had no batch dimension. */
  readonly unbatched: boolean;
}

/** One forward call, validated: its dimensions and resolved options. */
interface ForwardCall extends InputDims {
  readonly needWeights: boolean;
  readonly averageAttnWeights: boolean;
  readonly isCausal: boolean;
  readonly cache: KVCache | undefined;
  /** `bias_k` and zero-attention positions appended after the keys. */
  readonly extraKeys: number;
  /** Dropout on the weights (training with `dropout > 0`). */
  readonly dropping: boolean;
}

/**
 * Multi-head attention mirroring `torch.nn.MultiheadAttention`: project q, k and v, split into
 * heads, attend, merge, project out. Self-attention passes one sequence as query, key and
 * value; cross-attention (encoder-decoder) passes the decoder states as query and the encoder
 * output as key and value (their width may differ: `kdim`, `vdim`).
 *
 * Differences from PyTorch, on purpose:
 * - `batchFirst` defaults to true.
 * - The module starts in eval mode (dropout off); call `train()` to enable dropout.
 * - Masks use PyTorch MHA's polarity: a bool `attnMask` / `keyPaddingMask` entry that is
 *   `true` is masked OUT. This is the opposite of `scaledDotProductAttention`, whose bool
 *   `attnMask` is `true` where attention is ALLOWED. Float masks are added in both.
 * - `isCausal` applies a causal mask rather than hinting that `attnMask` is one.
 * - A query whose every key is masked gets zeros (PyTorch gives NaN).
 * - `numKvHeads` adds grouped-query attention; `alibi` and `rope` add position information.
 */
export class MultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly bias: boolean;
  readonly addBiasKv: boolean;
  readonly addZeroAttn: boolean;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly device: Device;
  readonly dtype: DType;
  readonly alibi: Tensor | undefined;
  readonly rope: RotaryEmbedding | undefined;
  training = false;
  readonly #params: MhaParameters;
  readonly #rng: Random;
  /** The ALiBi slopes were made here (`alibi: true`), so `dispose()` releases them. */
  readonly #ownsAlibi: boolean;

  constructor(options: MultiHeadAttentionOptions) {
    validateMhaOptions(options);
    const { embedDim, numHeads } = options;
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.numKvHeads = options.numKvHeads ?? numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.bias = options.bias ?? true;
    this.addBiasKv = options.addBiasKv ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? true;
    this.device = options.device ?? getDefaultDevice();
    this.dtype = options.dtype ?? 'float32';
    this.rope = options.rope;
    const where = 'MultiHeadAttention';
    for (const [name, v] of Object.entries({
      embedDim,
      numHeads,
      kdim: this.kdim,
      vdim: this.vdim,
    })) {
      if (!Number.isInteger(v) || v < 1)
        fail(where, `${name} must be a positive integer, got ${v}`);
    }
    if (embedDim % numHeads !== 0) {
      fail(where, `embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    }
    if (
      !Number.isInteger(this.numKvHeads) ||
      this.numKvHeads < 1 ||
      numHeads % this.numKvHeads !== 0
    ) {
      fail(where, `numKvHeads ${this.numKvHeads} must divide numHeads ${numHeads}`);
    }
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      fail(where, `dropout must be in [0, 1), got ${this.dropout}`);
    }
    this.#ownsAlibi = options.alibi === true;
    this.alibi =
      options.alibi === true
        ? tensor(alibiSlopes(numHeads), [numHeads], { device: this.device })
        : options.alibi;
    if (this.alibi && (this.alibi.rank !== 1 || this.alibi.shape[0] !== numHeads)) {
      fail(where, `alibi slopes must be [${numHeads}], got ${formatShape(this.alibi.shape)}`);
    }
    this.headDim = embedDim / numHeads;
    this.#rng = dropoutRandom(options.seed);
    this.#params = new MhaParameters(
      {
        embedDim,
        kdim: this.kdim,
        vdim: this.vdim,
        kvDim: this.kvDim,
        bias: this.bias,
        addBiasKv: this.addBiasKv,
        device: this.device,
        dtype: this.dtype,
      },
      options.seed,
    );
  }

  /** Width of the key and value projections: `numKvHeads * headDim`. */
  get kvDim(): number {
    return this.numKvHeads * this.headDim;
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * The parameters the forward reads, by internal name (`qWeight`, `kBias`, `outWeight`, ...),
   * live: pass the values to `grads` / `valueAndGrads`, or the map to an optimizer from
   * `@qkv/train`, whose steps replace its entries and so update the module. The module owns
   * the tensors; `stateDict()` gives PyTorch's names.
   */
  parameters(): Map<string, Tensor> {
    return this.#params.live();
  }

  /** Parameter names and shapes as PyTorch's `state_dict()` lists them for this module. */
  expectedStateDict(): Map<string, number[]> {
    return new Map([...this.#params.expected].map(([k, v]) => [k, [...v]]));
  }

  /**
   * Load PyTorch's parameters by name (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
   * `out_proj.bias`, or `q_proj_weight` / `k_proj_weight` / `v_proj_weight` when kdim or vdim
   * differ from embedDim, plus `bias_k` / `bias_v` with addBiasKv). Missing, extra or
   * misshapen entries give one error listing what was expected. The tensors are copied (or
   * viewed), so the caller may dispose its own.
   */
  loadStateDict(record: Readonly<Record<string, Tensor>>): void {
    this.#params.load('MultiHeadAttention.loadStateDict', record);
  }

  /** The parameters under PyTorch's names (new tensors the caller owns). */
  stateDict(): Record<string, Tensor> {
    return this.#params.stateDict();
  }

  /** A KV cache shaped for this module's keys and values, for `forward(..., { cache })`. */
  createCache(batch: number, capacity = 16): KVCache {
    return new KVCache({
      batch,
      numKvHeads: this.numKvHeads,
      headDim: this.headDim,
      capacity,
      dtype: this.dtype,
      device: this.device,
    });
  }

  /**
   * Attend from `query` to `key` / `value`: `[N, L, E]`, `[N, S, kdim]`, `[N, S, vdim]`
   * (batch-first; `[L, N, ·]` otherwise; or unbatched `[L, E]`, `[S, kdim]`, `[S, vdim]`).
   * Masks follow PyTorch MHA (bool `true` = masked out): `attnMask` `[L, S]` or `[N·H, L, S]`,
   * `keyPaddingMask` `[N, S]`. With `cache`, S is the cache length after this call's append.
   *
   * Every argument is checked before anything changes: a call that throws leaves the cache,
   * the module and the device's memory as they were.
   */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiHeadAttentionForwardOptions = {},
  ): MultiHeadAttentionOutput {
    const call = this.#checkCall(query, key, value, options);
    return scope(() => {
      const { q, k, v } = this.#project(call, query, key, value);
      const offset = call.cache?.length ?? 0;
      const rotatedQ = this.rope ? this.rope.apply(q, { offset }) : q;
      const rotatedK = this.rope ? this.rope.apply(k, { offset }) : k;
      if (!call.cache) return this.#finish(call, rotatedQ, rotatedK, v, options);
      const cache = call.cache;
      cache.append(rotatedK, v);
      try {
        return this.#finish(call, rotatedQ, cache.keys, cache.values, options);
      } catch (error) {
        // Unreachable for inputs #checkCall accepted; kept so a failure cannot leave the
        // positions of a call that produced nothing in the cache.
        cache.crop(offset);
        throw error;
      }
    });
  }

  /**
   * Validate one forward call (inputs, masks, cache, option clashes) without creating or
   * changing anything, and fix its dimensions.
   */
  #checkCall(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiHeadAttentionForwardOptions,
  ): ForwardCall {
    const where = 'MultiHeadAttention.forward';
    validateMhaForwardArgs(query, key, value, options);
    const { needWeights = true, averageAttnWeights = true, isCausal = false, cache } = options;
    const extraKeys = Number(this.addBiasKv) + Number(this.addZeroAttn);
    const dims = this.#checkInputs(where, query, key, value);
    if (cache && extraKeys > 0)
      fail(where, 'a KV cache cannot be combined with addBiasKv or addZeroAttn');
    if (isCausal && extraKeys > 0)
      fail(where, 'isCausal cannot be combined with addBiasKv or addZeroAttn');
    if (cache) this.#checkCache(where, cache, dims.n);
    const dropping = this.training && this.dropout > 0;
    if (options.sparseMask) {
      assertNoSparseClash(
        where,
        {
          attnMask: options.attnMask,
          keyPaddingMask: options.keyPaddingMask,
          isCausal,
          cache,
          alibi: this.alibi,
          needWeights,
          dropout: dropping,
        },
        'pass needWeights: false; express masks as @qkv/sparse patterns',
      );
    }
    checkMhaMasks(where, options, this.device, {
      batch: dims.n,
      heads: this.numHeads,
      queryLength: dims.l,
      keyLength: cache ? cache.length + dims.s : dims.s,
      unbatched: dims.unbatched,
    });
    return {
      ...dims,
      needWeights,
      averageAttnWeights,
      isCausal,
      cache,
      extraKeys,
      dropping,
    };
  }

  /**
   * Query, key and value projections split into heads `[N, H, T, D]`, with `bias_k` /
   * `bias_v` and the zero-attention position appended to the keys and values.
   */
  #project(
    call: ForwardCall,
    query: Tensor,
    key: Tensor,
    value: Tensor,
  ): { q: Tensor; k: Tensor; v: Tensor } {
    const toBatchFirst = (x: Tensor) =>
      call.unbatched ? x.reshape([1, ...x.shape]) : this.batchFirst ? x : transpose(x, 0, 1);
    const p = this.#params;
    const n = call.n;
    let k = linear(toBatchFirst(key), p.get('kWeight'), p.bias('kBias'));
    let v = linear(toBatchFirst(value), p.get('vWeight'), p.bias('vBias'));
    if (this.addBiasKv) {
      k = concat([k, this.#repeat(p.get('biasK'), n)], 1);
      v = concat([v, this.#repeat(p.get('biasV'), n)], 1);
    }
    const q = this.#heads(linear(toBatchFirst(query), p.get('qWeight'), p.bias('qBias')));
    k = this.#heads(k, this.numKvHeads);
    v = this.#heads(v, this.numKvHeads);
    if (this.addZeroAttn) {
      const zero = zeros([n, this.numKvHeads, 1, this.headDim], {
        dtype: this.dtype,
        device: this.device,
      });
      k = concat([k, zero], 2);
      v = concat([v, zero], 2);
    }
    return { q, k, v };
  }

  /** Attend (block-sparse, with weights, or fused) and project the merged heads out. */
  #finish(
    call: ForwardCall,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    options: MultiHeadAttentionForwardOptions,
  ): MultiHeadAttentionOutput {
    const { heads, weights } = this.#attend(call, q, k, v, options);
    const { n, l } = call;
    const merged = permute(heads, [0, 2, 1, 3]).reshape([n, l, this.embedDim]);
    const projected = linear(merged, this.#params.get('outWeight'), this.#params.bias('outBias'));
    const output = call.unbatched
      ? projected.reshape([l, this.embedDim])
      : this.batchFirst
        ? projected
        : transpose(projected, 0, 1);
    if (!call.needWeights) return { output };
    let w = call.averageAttnWeights ? mean(weights!, 1) : weights!;
    if (call.unbatched) w = w.reshape(w.shape.slice(1));
    return { output, weights: w };
  }

  /** The attention itself over the first `kvLength` keys: heads `[N, H, L, Dv]`. */
  #attend(
    call: ForwardCall,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    options: MultiHeadAttentionForwardOptions,
  ): { heads: Tensor; weights?: Tensor } {
    if (options.sparseMask) {
      return { heads: blockSparseAttention(q, k, v, options.sparseMask, { enableGqa: true }) };
    }
    const kvLength = call.cache ? call.cache.length : k.shape[2]!;
    const masks = toOpMasks(options, {
      batch: call.n,
      heads: this.numHeads,
      queryLength: call.l,
      keyLength: call.cache ? kvLength : call.s,
      extraKeys: call.extraKeys,
      unbatched: call.unbatched,
    });
    const opOptions: AttentionOptions = {
      ...(masks.allow ? { attnMask: masks.allow } : {}),
      ...(masks.bias ? { bias: masks.bias } : {}),
      ...(this.alibi ? { alibiSlopes: this.alibi } : {}),
      isCausal: call.isCausal,
      causalAlignment: call.cache ? 'bottom-right' : 'top-left',
      enableGqa: true,
      kvLength,
    };
    if (!call.needWeights && !call.dropping) return { heads: attention(q, k, v, opOptions) };
    let weights = attentionWeights(q, k, opOptions);
    if (call.dropping) weights = dropout(weights, this.dropout, this.#rng);
    // Without dropout the heads come from the fused op, which skips masked keys outright:
    // zero weights times NaN / Infinity in a masked value would otherwise leak into the row.
    const heads = call.dropping
      ? weightedValues(weights, v, kvLength)
      : attention(q, k, v, opOptions);
    return { heads, weights };
  }

  /** Check query, key and value and return the call's dimensions. */
  #checkInputs(where: string, query: Tensor, key: Tensor, value: Tensor): InputDims {
    for (const [name, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const) {
      if (!(t instanceof Tensor)) fail(where, `${name} must be a Tensor, got ${describeValue(t)}`);
      if (t.device !== this.device) {
        fail(where, `${name} is on ${t.device.name} but the module is on ${this.device.name}`);
      }
      if (t.dtype !== this.dtype) {
        fail(where, `${name} must be ${this.dtype} like the module, got ${t.dtype}`);
      }
    }
    const shapes = `query ${formatShape(query.shape)}, key ${formatShape(key.shape)}, value ${formatShape(value.shape)}`;
    const unbatched = query.rank === 2;
    if (
      (query.rank !== 2 && query.rank !== 3) ||
      key.rank !== query.rank ||
      value.rank !== query.rank
    ) {
      fail(where, `${shapes} must all be rank 3 (batched) or all rank 2 (unbatched)`);
    }
    // [N, T, C] whatever the layout.
    const batchFirst = (x: Tensor) =>
      unbatched
        ? [1, ...x.shape]
        : this.batchFirst
          ? x.shape
          : [x.shape[1], x.shape[0], x.shape[2]];
    const [n, l, e] = batchFirst(query) as [number, number, number];
    const [kn, s, kd] = batchFirst(key) as [number, number, number];
    const [vn, vs, vd] = batchFirst(value) as [number, number, number];
    const layout = this.batchFirst ? '[N, L, E]' : '[L, N, E]';
    if (e !== this.embedDim || kd !== this.kdim || vd !== this.vdim) {
      fail(
        where,
        `${shapes} must end in embedDim ${this.embedDim}, kdim ${this.kdim} and vdim ${this.vdim} (layout ${layout})`,
      );
    }
    if (kn !== n || vn !== n || vs !== s) {
      fail(
        where,
        `${shapes} disagree on the batch size or key and value disagree on the length (layout ${layout})`,
      );
    }
    return { n, l, s, unbatched };
  }

  /** The cache must hold this module's keys and values for this batch. */
  #checkCache(where: string, cache: KVCache, batch: number): void {
    if (!(cache instanceof KVCache)) {
      fail(where, `cache must be a KVCache (see createCache), got ${describeValue(cache)}`);
    }
    const want = `batch ${batch}, ${this.numKvHeads} kv heads, head size ${this.headDim}, ${this.dtype} on ${this.device.name}`;
    const got = `batch ${cache.batch}, ${cache.numKvHeads} kv heads, head size ${cache.headDim}${cache.valueDim === cache.headDim ? '' : ` / ${cache.valueDim}`}, ${cache.dtype} on ${cache.device.name}`;
    if (want !== got) fail(where, `cache must hold ${want}; it holds ${got}`);
  }

  /** `[N, T, H·D]` → `[N, H, T, D]`. */
  #heads(x: Tensor, heads = this.numHeads): Tensor {
    const [n, t] = x.shape as [number, number];
    return permute(x.reshape([n, t, heads, this.headDim]), [0, 2, 1, 3]);
  }

  /** `[1, 1, C]` → `[N, 1, C]` (bias_k / bias_v for every batch entry). */
  #repeat(x: Tensor, n: number): Tensor {
    const index = tensor(new Int32Array(n), [n], { dtype: 'int32', device: this.device });
    return gather(x.reshape([1, x.shape[2]!]), index, 0).reshape([n, 1, x.shape[2]!]);
  }

  /** Release the parameters. */
  dispose(): void {
    this.#params.dispose();
    if (this.#ownsAlibi) this.alibi?.dispose();
  }
}
