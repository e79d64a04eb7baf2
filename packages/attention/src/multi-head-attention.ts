import { alibiSlopes } from '@qkv/positional';
import type { BlockMask, Mask } from '@qkv/sparse';
import {
  type AttentionOptions,
  attention,
  attentionWeights,
  cast,
  concat,
  type Device,
  type DType,
  formatShape,
  gather,
  getDefaultDevice,
  keep,
  linear,
  mean,
  narrow,
  permute,
  type Random,
  rand,
  randn,
  scope,
  type Tensor,
  tensor,
  transpose,
  zeros,
} from '@qkv/tensor';
import { dropout, dropoutRandom } from './dropout.js';
import { fail } from './errors.js';
import { KVCache } from './kv-cache.js';
import { type MhaMaskInputs, toOpMasks } from './mha-masks.js';
import { scaledDotProductAttention, weightedValues } from './sdpa.js';
import {
  checkStateDict,
  expectedParameters,
  type MhaShapeConfig,
  usesPackedProjection,
} from './state-dict.js';
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

type Param =
  | 'qWeight'
  | 'kWeight'
  | 'vWeight'
  | 'qBias'
  | 'kBias'
  | 'vBias'
  | 'outWeight'
  | 'outBias'
  | 'biasK'
  | 'biasV';

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
  readonly #params = new Map<Param, Tensor>();
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
    this.#initialize(options.seed);
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

  #shapeConfig(): MhaShapeConfig {
    return {
      embedDim: this.embedDim,
      kdim: this.kdim,
      vdim: this.vdim,
      kvDim: this.kvDim,
      bias: this.bias,
      addBiasKv: this.addBiasKv,
    };
  }

  /** PyTorch's initialisation: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v. */
  #initialize(seed: number | undefined): void {
    const e = this.embedDim;
    const kv = this.kvDim;
    let n = 0;
    const common = () => ({
      device: this.device,
      dtype: this.dtype,
      ...(seed === undefined ? {} : { seed: seed + ++n }),
    });
    const uniform = (rows: number, cols: number, fanOut = rows) => {
      const bound = Math.sqrt(6 / (cols + fanOut));
      return rand([rows, cols], { ...common(), low: -bound, high: bound });
    };
    const packedFanOut = e + 2 * kv;
    const packed = usesPackedProjection(this.#shapeConfig());
    this.#set('qWeight', uniform(e, e, packed ? packedFanOut : e));
    this.#set('kWeight', uniform(kv, this.kdim, packed ? packedFanOut : kv));
    this.#set('vWeight', uniform(kv, this.vdim, packed ? packedFanOut : kv));
    // torch.nn.Linear's default for out_proj: U(-1/sqrt(in), 1/sqrt(in)).
    const outBound = 1 / Math.sqrt(e);
    this.#set('outWeight', rand([e, e], { ...common(), low: -outBound, high: outBound }));
    if (this.bias) {
      for (const [name, width] of [
        ['qBias', e],
        ['kBias', kv],
        ['vBias', kv],
        ['outBias', e],
      ] as const) {
        this.#set(name, zeros([width], { device: this.device, dtype: this.dtype }));
      }
    }
    if (this.addBiasKv) {
      const std = Math.sqrt(2 / (kv + kv));
      this.#set('biasK', randn([1, 1, kv], { ...common(), std }));
      this.#set('biasV', randn([1, 1, kv], { ...common(), std }));
    }
  }

  #set(name: Param, t: Tensor): void {
    this.#params.get(name)?.dispose();
    this.#params.set(name, keep(t));
  }

  #param(name: Param): Tensor {
    const t = this.#params.get(name);
    if (!t) fail('MultiHeadAttention', `parameter ${name} is missing`);
    return t;
  }

  /** Parameter names and shapes as PyTorch's `state_dict()` lists them for this module. */
  expectedStateDict(): Map<string, number[]> {
    return new Map([...expectedParameters(this.#shapeConfig())].map(([k, v]) => [k, [...v]]));
  }

  /**
   * Load PyTorch's parameters by name (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
   * `out_proj.bias`, or `q_proj_weight` / `k_proj_weight` / `v_proj_weight` when kdim or vdim
   * differ from embedDim, plus `bias_k` / `bias_v` with addBiasKv). Missing, extra or
   * misshapen entries give one error listing what was expected. The tensors are copied (or
   * viewed), so the caller may dispose its own.
   */
  loadStateDict(record: Readonly<Record<string, Tensor>>): void {
    const where = 'MultiHeadAttention.loadStateDict';
    checkStateDict(where, record, expectedParameters(this.#shapeConfig()));
    for (const [name, t] of Object.entries(record)) {
      if (t.device !== this.device) {
        fail(where, `${name} is on ${t.device.name} but the module is on ${this.device.name}`);
      }
    }
    const e = this.embedDim;
    const kv = this.kvDim;
    const own = (t: Tensor) => (t.dtype === this.dtype ? t.reshape(t.shape) : cast(t, this.dtype));
    const split = (t: Tensor, names: [Param, Param, Param]) => {
      const rows = [e, kv, kv];
      let start = 0;
      names.forEach((name, i) => {
        const part = narrow(t, 0, start, rows[i]!);
        this.#set(name, own(part));
        part.dispose();
        start += rows[i]!;
      });
    };
    if (record.in_proj_weight) split(record.in_proj_weight, ['qWeight', 'kWeight', 'vWeight']);
    else {
      this.#set('qWeight', own(record.q_proj_weight!));
      this.#set('kWeight', own(record.k_proj_weight!));
      this.#set('vWeight', own(record.v_proj_weight!));
    }
    if (record.in_proj_bias) split(record.in_proj_bias, ['qBias', 'kBias', 'vBias']);
    this.#set('outWeight', own(record['out_proj.weight']!));
    if (record['out_proj.bias']) this.#set('outBias', own(record['out_proj.bias']));
    if (record.bias_k) this.#set('biasK', own(record.bias_k));
    if (record.bias_v) this.#set('biasV', own(record.bias_v));
  }

  /** The parameters under PyTorch's names (new tensors the caller owns). */
  stateDict(): Record<string, Tensor> {
    const p = (name: Param) => this.#param(name);
    const out: Record<string, Tensor> = {};
    if (usesPackedProjection(this.#shapeConfig())) {
      out.in_proj_weight = concat([p('qWeight'), p('kWeight'), p('vWeight')], 0);
    } else {
      out.q_proj_weight = p('qWeight').reshape(p('qWeight').shape);
      out.k_proj_weight = p('kWeight').reshape(p('kWeight').shape);
      out.v_proj_weight = p('vWeight').reshape(p('vWeight').shape);
    }
    if (this.bias) out.in_proj_bias = concat([p('qBias'), p('kBias'), p('vBias')], 0);
    if (this.addBiasKv) {
      out.bias_k = p('biasK').reshape(p('biasK').shape);
      out.bias_v = p('biasV').reshape(p('biasV').shape);
    }
    out['out_proj.weight'] = p('outWeight').reshape(p('outWeight').shape);
    if (this.bias) out['out_proj.bias'] = p('outBias').reshape([this.embedDim]);
    return out;
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
   */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiHeadAttentionForwardOptions = {},
  ): MultiHeadAttentionOutput {
    const where = 'MultiHeadAttention.forward';
    validateMhaForwardArgs(query, key, value, options);
    const { needWeights = true, averageAttnWeights = true, isCausal = false, cache } = options;
    const extraKeys = Number(this.addBiasKv) + Number(this.addZeroAttn);
    if (cache && extraKeys > 0)
      fail(where, 'a KV cache cannot be combined with addBiasKv or addZeroAttn');
    if (isCausal && extraKeys > 0)
      fail(where, 'isCausal cannot be combined with addBiasKv or addZeroAttn');
    const unbatched = query.rank === 2;
    if (
      (query.rank !== 2 && query.rank !== 3) ||
      key.rank !== query.rank ||
      value.rank !== query.rank
    ) {
      fail(
        where,
        `query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must all be rank 3 (batched) or all rank 2 (unbatched)`,
      );
    }
    return scope(() => {
      const toBatchFirst = (x: Tensor) =>
        unbatched ? x.reshape([1, ...x.shape]) : this.batchFirst ? x : transpose(x, 0, 1);
      const qIn = toBatchFirst(query);
      const kIn = toBatchFirst(key);
      const vIn = toBatchFirst(value);
      this.#checkInputs(where, qIn, kIn, vIn, query, key, value);
      const [n, l] = qIn.shape as [number, number];
      const s = kIn.shape[1]!;
      const bias = (name: Param) => (this.bias ? this.#param(name) : undefined);
      let k = linear(kIn, this.#param('kWeight'), bias('kBias'));
      let v = linear(vIn, this.#param('vWeight'), bias('vBias'));
      if (this.addBiasKv) {
        k = concat([k, this.#repeat(this.#param('biasK'), n)], 1);
        v = concat([v, this.#repeat(this.#param('biasV'), n)], 1);
      }
      let q = this.#heads(linear(qIn, this.#param('qWeight'), bias('qBias')), this.numHeads);
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
      if (this.rope) {
        const offset = cache?.length ?? 0;
        q = this.rope.apply(q, { offset });
        k = this.rope.apply(k, { offset });
      }
      let kvLength = k.shape[2]!;
      if (cache) {
        cache.append(k, v);
        k = cache.keys;
        v = cache.values;
        kvLength = cache.length;
      }
      const masks = toOpMasks(where, options, {
        batch: n,
        heads: this.numHeads,
        queryLength: l,
        keyLength: cache ? kvLength : s,
        extraKeys,
        unbatched,
      });
      const opOptions: AttentionOptions = {
        ...(masks.allow ? { attnMask: masks.allow } : {}),
        ...(masks.bias ? { bias: masks.bias } : {}),
        ...(this.alibi ? { alibiSlopes: this.alibi } : {}),
        isCausal,
        causalAlignment: cache ? 'bottom-right' : 'top-left',
        enableGqa: true,
        kvLength,
      };
      const dropping = this.training && this.dropout > 0;
      let heads: Tensor;
      let weights: Tensor | undefined;
      if (options.sparseMask) {
        const clashing = Object.entries({
          attnMask: options.attnMask,
          keyPaddingMask: options.keyPaddingMask,
          isCausal: isCausal || undefined,
          cache,
          alibi: this.alibi,
          needWeights: needWeights || undefined,
          dropout: dropping || undefined,
        }).filter(([, value]) => value !== undefined);
        if (clashing.length > 0) {
          fail(
            where,
            `sparseMask cannot be combined with ${clashing.map(([name]) => name).join(', ')} (pass needWeights: false; express masks as @qkv/sparse patterns)`,
          );
        }
        heads = scaledDotProductAttention(q, k, v, {
          sparseMask: options.sparseMask,
          enableGqa: true,
        });
      } else if (needWeights || dropping) {
        weights = attentionWeights(q, k, opOptions);
        if (dropping) weights = dropout(weights, this.dropout, this.#rng);
        heads = dropping ? weightedValues(weights, v, kvLength) : attention(q, k, v, opOptions);
      } else {
        heads = attention(q, k, v, opOptions);
      }
      const merged = permute(heads, [0, 2, 1, 3]).reshape([n, l, this.embedDim]);
      const projected = linear(merged, this.#param('outWeight'), bias('outBias'));
      const output = unbatched
        ? projected.reshape([l, this.embedDim])
        : this.batchFirst
          ? projected
          : transpose(projected, 0, 1);
      if (!needWeights) return { output };
      let w = averageAttnWeights ? mean(weights!, 1) : weights!;
      if (unbatched) w = w.reshape(w.shape.slice(1));
      return { output, weights: w };
    });
  }

  #checkInputs(where: string, q: Tensor, k: Tensor, v: Tensor, ...given: Tensor[]): void {
    const [n, , e] = q.shape;
    const [kn, ks, kd] = k.shape;
    const [vn, vs, vd] = v.shape;
    const layout = this.batchFirst ? '[N, L, E]' : '[L, N, E]';
    const shapes = `query ${formatShape(given[0]!.shape)}, key ${formatShape(given[1]!.shape)}, value ${formatShape(given[2]!.shape)}`;
    if (e !== this.embedDim || kd !== this.kdim || vd !== this.vdim) {
      fail(
        where,
        `${shapes} must end in embedDim ${this.embedDim}, kdim ${this.kdim} and vdim ${this.vdim} (layout ${layout})`,
      );
    }
    if (kn !== n || vn !== n || vs !== ks) {
      fail(
        where,
        `${shapes} disagree on the batch size or key and value disagree on the length (layout ${layout})`,
      );
    }
  }

  /** `[N, T, H·D]` → `[N, H, T, D]`. */
  #heads(x: Tensor, heads: number): Tensor {
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
    for (const t of this.#params.values()) t.dispose();
    if (this.#ownsAlibi) this.alibi?.dispose();
    this.#params.clear();
  }
}
