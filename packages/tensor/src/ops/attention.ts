import { runOpSavingForGradient } from '../autodiff/save-for-gradient.js';
import { describeValue } from '../check-args.js';
import { isFloatDType } from '../dtype.js';
import { fail } from '../errors.js';
import { defineOp, type Inferred, runOp } from '../registry.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertSameDType, assertTensors, describe } from './validate.js';

/**
 * Where the causal diagonal sits when the query and key lengths differ.
 * - `top-left` (PyTorch's `is_causal`): query i may attend to keys j <= i.
 * - `bottom-right` (FlashAttention >= 2.1): query i may attend to keys j <= i + S - L, so the
 *   last query lines up with the last key; this is what decoding with a KV cache needs.
 * With L = S both are the usual lower-triangular mask.
 */
export type CausalAlignment = 'top-left' | 'bottom-right';

/**
 * Attributes of the fused `attention` and `attentionWeights` ops. Backends read these and the
 * optional inputs exactly as documented on {@link AttentionOp}.
 */
export interface AttentionAttrs {
  /** Multiplies q·k (PyTorch's default 1/sqrt(E) is filled in by the front-end). */
  readonly scale: number;
  readonly isCausal: boolean;
  readonly causalAlignment: CausalAlignment;
  /** `cap * tanh(s / cap)` on the scaled scores before any bias or mask (Gemma 2); 0 = off. */
  readonly softcap: number;
  /**
   * Keys actually attended: the first `kvLength` rows of k and v (a preallocated KV cache
   * holds more). Masks, bias and the weights' last dimension use this length.
   */
  readonly kvLength: number;
  /** Which optional inputs follow q, k, v, in this order: mask, bias, alibiSlopes. */
  readonly hasMask: boolean;
  readonly hasBias: boolean;
  readonly hasAlibi: boolean;
  /**
   * `attention` only: also output each query row's log-sum-exp (float32 `[B..., Hq, L]`, what
   * {@link AttentionLseOp} computes), written by the same pass as the output. The front-end
   * asks for it when a gradient tape records the call, so the backward reads it instead of
   * scoring every row again (FlashAttention-2's saved statistic).
   */
  readonly saveLse?: boolean;
}

/**
 * Sizes every attention backend needs, derived once from validated inputs by the op's `infer`
 * and handed to the kernel as its plan (`ctx.plan`). One definition for the dense
 * `attention` / `attentionWeights` and the `blockSparseAttention` ops.
 */
export interface AttentionDims {
  /** Leading batch dimensions B... (possibly none). */
  readonly batchShape: readonly number[];
  readonly batch: number;
  readonly qHeads: number;
  readonly kvHeads: number;
  /** Query heads per key/value head: query head h reads kv head floor(h / groupSize). */
  readonly groupSize: number;
  readonly queryLength: number;
  /** Rows of storage in k and v (>= the attended `kvLength`). */
  readonly keyCapacity: number;
  readonly kvLength: number;
  readonly headDim: number;
  readonly valueDim: number;
  /** Added to i in the causal test j <= i + offset and in the ALiBi distance. */
  readonly causalOffset: number;
  /** The `[B..., Hq, L, S]` shape masks and bias broadcast to. */
  readonly scoreShape: readonly number[];
}

/** Split `[B..., H, L, E]` (rank 2 means one head, no batch). */
function splitHeads(t: Tensor): { batch: number[]; heads: number; length: number; dim: number } {
  const r = t.rank;
  return {
    batch: t.shape.slice(0, Math.max(0, r - 3)),
    heads: r >= 3 ? t.shape[r - 3]! : 1,
    length: t.shape[r - 2]!,
    dim: t.shape[r - 1]!,
  };
}

/** PyTorch's default attention scale for head dim E: `1 / sqrt(E)`. */
export function defaultAttentionScale(headDim: number): number {
  return 1 / Math.sqrt(headDim);
}

/**
 * The front-ends' `enableGqa` rule (PyTorch's `enable_gqa`): without it q and k must have
 * the same number of heads. The ops themselves accept any Hq that Hkv divides.
 */
export function assertGqaAllowed(where: string, q: Tensor, k: Tensor, enableGqa = false): void {
  const qHeads = q.rank >= 3 ? q.shape[q.rank - 3] : 1;
  const kHeads = k.rank >= 3 ? k.shape[k.rank - 3] : 1;
  if (qHeads !== kHeads && !enableGqa) {
    fail(
      where,
      `q ${describe(q)} has ${qHeads} heads but k ${describe(k)} has ${kHeads}; pass enableGqa: true for grouped-query attention`,
    );
  }
}

/** Which keys are attended and where the causal diagonal sits (defaults: all, top-left). */
export interface AttentionDimsOptions {
  readonly kvLength?: number;
  readonly causalAlignment?: CausalAlignment;
}

/**
 * Validate q `[B..., Hq, L, E]`, k `[B..., Hkv, S, E]` and v `[B..., Hkv, S, Ev]` and return
 * their sizes; errors name the op (`where`) and the offending shapes.
 */
export function attentionDims(
  where: string,
  q: Tensor | undefined,
  k: Tensor | undefined,
  v: Tensor | undefined,
  options: AttentionDimsOptions = {},
): AttentionDims {
  if (!q || !k || !v) fail(where, 'needs q, k and v');
  assertFloat(where, 'q', q);
  assertSameDType(where, ['q', 'k', 'v'], [q, k, v]);
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank < 2)
      fail(where, `${name} must be [..., H, L, E] with rank >= 2, got ${describe(t)}`);
  }
  if (q.rank !== k.rank || q.rank !== v.rank) {
    fail(
      where,
      `q ${describe(q)}, k ${describe(k)} and v ${describe(v)} must have the same rank ([B..., H, L, E])`,
    );
  }
  const qs = splitHeads(q);
  const ks = splitHeads(k);
  const vs = splitHeads(v);
  const sameBatch = (a: number[], b: number[]) => a.every((d, i) => d === b[i]);
  if (!sameBatch(qs.batch, ks.batch) || !sameBatch(qs.batch, vs.batch)) {
    fail(
      where,
      `batch dimensions differ: q ${describe(q)}, k ${describe(k)}, v ${describe(v)} (they must match exactly)`,
    );
  }
  if (qs.dim !== ks.dim) {
    fail(where, `q ${describe(q)} and k ${describe(k)} must share the last dimension E`);
  }
  if (ks.heads !== vs.heads || ks.length !== vs.length) {
    fail(where, `k ${describe(k)} and v ${describe(v)} must have the same heads and length S`);
  }
  if (ks.heads === 0 || qs.heads % ks.heads !== 0) {
    fail(
      where,
      `query heads (${qs.heads}, q ${describe(q)}) must be a multiple of key/value heads (${ks.heads}, k ${describe(k)})`,
    );
  }
  const kvLength = options.kvLength ?? ks.length;
  if (!Number.isInteger(kvLength) || kvLength < 0 || kvLength > ks.length) {
    fail(
      where,
      `kvLength ${kvLength} must be an integer in [0, ${ks.length}] for k ${describe(k)}`,
    );
  }
  const alignment = options.causalAlignment ?? 'top-left';
  if (alignment !== 'top-left' && alignment !== 'bottom-right') {
    fail(where, `causalAlignment must be 'top-left' or 'bottom-right', got ${alignment}`);
  }
  const scoreShape = [...qs.batch, qs.heads, qs.length, kvLength];
  return {
    batchShape: qs.batch,
    batch: qs.batch.reduce((p, d) => p * d, 1),
    qHeads: qs.heads,
    kvHeads: ks.heads,
    groupSize: ks.heads === 0 ? 1 : qs.heads / ks.heads,
    queryLength: qs.length,
    keyCapacity: ks.length,
    kvLength,
    headDim: qs.dim,
    valueDim: vs.dim,
    causalOffset: alignment === 'bottom-right' ? kvLength - qs.length : 0,
    scoreShape,
  };
}

/** An op's scale must be finite (front-ends fill in {@link defaultAttentionScale}). */
export function assertScale(where: string, scale: number): void {
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    fail(where, `scale must be a finite number, got ${describeValue(scale)}`);
  }
}

/** The dims of the dense ops, after checking the attributes and the optional inputs. */
export function denseAttentionDims(
  where: string,
  [q, k, v, ...extras]: readonly (Tensor | undefined)[],
  attrs: AttentionAttrs,
): AttentionDims {
  const dims = attentionDims(where, q, k, v, attrs);
  assertScale(where, attrs.scale);
  if (!(attrs.softcap >= 0) || !Number.isFinite(attrs.softcap)) {
    fail(where, `softcap must be a finite number >= 0 (0 = off), got ${attrs.softcap}`);
  }
  validateExtras(where, extras as Tensor[], attrs, dims, q!);
  return dims;
}

function validateExtras(
  where: string,
  extras: readonly Tensor[],
  attrs: AttentionAttrs,
  dims: AttentionDims,
  q: Tensor,
): void {
  const expected = Number(attrs.hasMask) + Number(attrs.hasBias) + Number(attrs.hasAlibi);
  if (extras.length !== expected) {
    fail(
      where,
      `got ${extras.length} optional inputs but hasMask / hasBias / hasAlibi say ${expected}`,
    );
  }
  let next = 0;
  if (attrs.hasMask) {
    const mask = extras[next++]!;
    if (mask.dtype !== 'bool' && !isFloatDType(mask.dtype)) {
      fail(where, `mask must be bool (true = may attend) or float (added), got ${describe(mask)}`);
    }
    assertBroadcastsTo(where, 'mask', mask, dims.scoreShape);
  }
  if (attrs.hasBias) {
    const bias = extras[next++]!;
    assertFloat(where, 'bias', bias);
    assertBroadcastsTo(where, 'bias', bias, dims.scoreShape);
  }
  if (attrs.hasAlibi) {
    const slopes = extras[next++]!;
    assertFloat(where, 'alibiSlopes', slopes);
    if (slopes.rank !== 1 || slopes.shape[0] !== dims.qHeads) {
      fail(
        where,
        `alibiSlopes must be [${dims.qHeads}] (one slope per query head of q ${describe(q)}), got ${describe(slopes)}`,
      );
    }
  }
}

/** Masks and biases stretch to the scores without changing them: `[B..., Hq, L, S]`. */
function assertBroadcastsTo(where: string, name: string, t: Tensor, shape: readonly number[]) {
  const offset = shape.length - t.rank;
  const ok = offset >= 0 && t.shape.every((d, i) => d === 1 || d === shape[i + offset]);
  if (!ok) {
    fail(
      where,
      `${name} ${describe(t)} must broadcast to the scores ${formatShape(shape)} ([B..., Hq, L, S])`,
    );
  }
}

/** `[B..., Hq, L]` (rank-2 q: `[L]`): one value per query row, e.g. its log-sum-exp. */
export function attentionRowShape(q: Tensor, d: AttentionDims): number[] {
  return q.rank === 2 ? [d.queryLength] : [...d.batchShape, d.qHeads, d.queryLength];
}

function attentionOutput(
  inputs: readonly Tensor[],
  attrs: AttentionAttrs,
): Inferred<AttentionDims> {
  const d = denseAttentionDims('attention', inputs, attrs);
  const q = inputs[0]!;
  const shape =
    q.rank === 2
      ? [d.queryLength, d.valueDim]
      : [...d.batchShape, d.qHeads, d.queryLength, d.valueDim];
  const outputs = [{ shape, dtype: q.dtype }];
  if (attrs.saveLse) outputs.push({ shape: attentionRowShape(q, d), dtype: 'float32' });
  return { outputs, plan: d };
}

/**
 * Fused scaled dot-product attention. Inputs, in order:
 * - q `[B..., Hq, L, E]`, k `[B..., Hkv, S, E]`, v `[B..., Hkv, S, Ev]` (same rank, same B...;
 *   rank 2 is a single head); Hq must be a multiple of Hkv, and query head h reads key/value
 *   head `floor(h / (Hq / Hkv))` (grouped-query attention, Ainslie et al. 2023).
 * - `mask` if `hasMask`: bool (true = may attend) or float (added to the scores),
 *   broadcastable to `[B..., Hq, L, S]` with `S = kvLength`.
 * - `bias` if `hasBias`: float, added, same broadcast.
 * - `alibiSlopes` if `hasAlibi`: `[Hq]`; adds `-slope_h * |i + offset - j|` (Press et al.
 *   2022, in FlashAttention's form that also covers non-causal attention), where
 *   `offset = S - L` for bottom-right alignment and 0 for top-left.
 *
 * Per query row i of head h, with s_j = scale * q_i·k_j:
 * 1. s_j <- softcap * tanh(s_j / softcap) when softcap > 0;
 * 2. s_j += float mask + bias + ALiBi;
 * 3. s_j = -inf where the bool mask is false, or (isCausal) where j > i + offset;
 *    causal and mask combine with AND (a key must pass both);
 * 4. out_i = Σ_j softmax(s)_j v_j, and a row whose every score is -inf is all zeros.
 *
 * Non-finite values: a key whose score is -inf (masked by the bool mask, the causal mask, a
 * float mask or bias of -inf, or past `kvLength`) has weight 0 and contributes nothing, even
 * NaN or ±Infinity in its k or v; -inf in an additive term wins over NaN in q·k. Scores are
 * float32: q·k beyond float32's range (~3.4e38) is ±Infinity on every backend (the CPU
 * rounds its float64 dot product and score to float32 range), so a +Infinity score makes
 * its row NaN and a -Infinity score gives weight 0, as PyTorch's float32 attention does.
 * Output `[B..., Hq, L, Ev]` in q's dtype. With `saveLse`, a second output: float32
 * `[B..., Hq, L]`, each row's log-sum-exp `m + log Σ_j exp(s_j - m)` over its final scores
 * (-inf for a fully masked row), as {@link AttentionLseOp} gives it. Backends must not
 * materialise the L x S scores (the CPU holds one row of S at a time) and should accumulate
 * in f32 or better.
 */
export const AttentionOp = defineOp<AttentionAttrs, AttentionDims>({
  name: 'attention',
  inputNames: ['q', 'k', 'v', 'mask', 'bias', 'alibiSlopes'],
  infer: attentionOutput,
});

/**
 * The softmax probabilities of {@link AttentionOp} (steps 1-3 and the softmax of step 4),
 * materialised as `[B..., Hq, L, S]`: O(L·S) memory, for visualisation and for callers that
 * need the weights. Inputs are q, k and the same optional inputs (no v).
 */
export const AttentionWeightsOp = defineOp<AttentionAttrs, AttentionDims>({
  name: 'attentionWeights',
  inputNames: ['q', 'k', 'mask', 'bias', 'alibiSlopes'],
  infer(inputs, attrs) {
    const [q, k, ...extras] = inputs;
    // Validate against k standing in for v: the weights never read v.
    const d = denseAttentionDims('attentionWeights', [q, k, k, ...extras], attrs);
    const shape = q!.rank === 2 ? [d.queryLength, d.kvLength] : d.scoreShape;
    return { outputs: [{ shape, dtype: q!.dtype }], plan: d };
  },
});

/** Options of the fused attention front-ends (PyTorch's `scaled_dot_product_attention` names). */
export interface AttentionOptions {
  /** Bool (true = may attend) or float (added); broadcastable to `[B..., Hq, L, S]`. */
  attnMask?: Tensor;
  /** Extra additive score bias (e.g. T5 relative buckets), broadcastable like the mask. */
  bias?: Tensor;
  /** ALiBi slopes `[Hq]`: adds `-slope * |i + offset - j|` to head h's scores. */
  alibiSlopes?: Tensor;
  /** Causal mask; ANDed with `attnMask` when both are given (PyTorch rejects the pair). */
  isCausal?: boolean;
  /** Default `top-left` like PyTorch; `bottom-right` for decoding against a KV cache. */
  causalAlignment?: CausalAlignment;
  /** Default `1 / sqrt(E)`; T5 uses 1. */
  scale?: number;
  /** Tanh soft-capping of the scaled scores (Gemma 2 uses 50); off when absent or 0. */
  softcap?: number;
  /** Allow Hq != Hkv (grouped / multi-query attention), as PyTorch's `enable_gqa`. */
  enableGqa?: boolean;
  /** Attend to only the first `kvLength` keys of k and v (default all of them). */
  kvLength?: number;
}

function attentionInputs(
  where: string,
  q: Tensor,
  k: Tensor,
  v: Tensor | undefined,
  options: AttentionOptions,
): { inputs: Tensor[]; attrs: AttentionAttrs } {
  const { attnMask, bias, alibiSlopes } = options;
  assertTensors(where, { q, k, v, attnMask, bias, alibiSlopes }, [
    'v',
    'attnMask',
    'bias',
    'alibiSlopes',
  ]);
  assertGqaAllowed(where, q, k, options.enableGqa);
  const headDim = q.shape[q.rank - 1] ?? 1;
  if (options.scale === undefined && headDim === 0) {
    fail(
      where,
      `q ${describe(q)} has E = 0, so the default scale 1/sqrt(E) is infinite; pass scale`,
    );
  }
  const attrs: AttentionAttrs = {
    scale: options.scale ?? defaultAttentionScale(q.shape[q.rank - 1] ?? 1),
    isCausal: options.isCausal ?? false,
    causalAlignment: options.causalAlignment ?? 'top-left',
    softcap: options.softcap ?? 0,
    kvLength: options.kvLength ?? k.shape[k.rank - 2] ?? 0,
    hasMask: !!attnMask,
    hasBias: !!bias,
    hasAlibi: !!alibiSlopes,
  };
  const inputs = [q, k, ...(v ? [v] : [])];
  for (const extra of [attnMask, bias, alibiSlopes]) if (extra) inputs.push(extra);
  return { inputs, attrs };
}

/**
 * Fused scaled dot-product attention (the `attention` op): `softmax(q·kᵀ·scale + masks)·v`
 * without materialising the scores. See {@link AttentionOp} for the exact contract.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { inputs, attrs } = attentionInputs('attention', q, k, v, options);
  // Under a gradient tape the same pass saves the row log-sum-exp the backward reads.
  return runOpSavingForGradient(AttentionOp, inputs, attrs, { ...attrs, saveLse: true });
}

/**
 * {@link attention} and each query row's log-sum-exp over its final scores, float32
 * `[B..., Hq, L]` (-inf where every key is masked), from one pass: what PyTorch's
 * `_scaled_dot_product_flash_attention` returns as `logsumexp`. Two attention results over
 * disjoint key sets merge exactly with it (`out = Σ exp(lse_part - lse) · out_part`).
 */
export function attentionWithLse(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): { out: Tensor; lse: Tensor } {
  const { inputs, attrs } = attentionInputs('attentionWithLse', q, k, v, options);
  const [out, lse] = runOp(AttentionOp, inputs, { ...attrs, saveLse: true });
  return { out: out!, lse: lse! };
}

/** The attention probabilities `[B..., Hq, L, S]` (O(L·S) memory; see {@link AttentionWeightsOp}). */
export function attentionWeights(q: Tensor, k: Tensor, options: AttentionOptions = {}): Tensor {
  const { inputs, attrs } = attentionInputs('attentionWeights', q, k, undefined, options);
  return runOp(AttentionWeightsOp, inputs, attrs)[0]!;
}
