import { type BlockMask, blockSparseAttention, type Expr, type Mask } from '@qkv/sparse';
import {
  type AttentionOptions,
  assertTensor,
  attention,
  attentionWeights,
  matmul,
  narrow,
  type Random,
  scope,
  type Tensor,
} from '@qkv/tensor';
import { dropout } from './dropout.js';
import { fail } from './errors.js';
import { validateSdpaArgs } from './validate-args.js';

export interface SdpaOptions extends AttentionOptions {
  /**
   * Dropout on the attention probabilities (PyTorch's `dropout_p`). Above 0 the
   * probabilities are materialised (O(L·S)), dropped and multiplied by v, so a masked key's
   * value enters as 0 × v: NaN or Infinity there reaches the output (without dropout a masked
   * key contributes nothing whatever it holds).
   */
  dropoutP?: number;
  /** The generator dropout draws from (seeded, so runs repeat); required with `dropoutP`. */
  dropoutRandom?: Random;
  /**
   * A mask from `@qkv/sparse` (a pattern such as `slidingWindow(256)`, any mask expression,
   * or a ready block mask). Attention then visits only the key blocks the mask keeps, so the
   * cost grows with the attended pairs rather than with L·S. It stands in for `attnMask`,
   * `isCausal`, `bias`, `alibiSlopes` and `softcap`: express those as mask patterns and
   * `scoreMod` score modifiers (`alibi`, `softCap`, `relativeBias`, `t5Bias`) instead.
   */
  sparseMask?: Mask | BlockMask;
  /** A `@qkv/sparse` score modifier applied to `q·k·scale` (with `sparseMask` only). */
  scoreMod?: Expr;
  /** Block edge when the block mask is built from `sparseMask` (default 64). */
  blockSize?: number;
}

/** Options the block-sparse path replaces with mask patterns and score modifiers. */
const DENSE_ONLY = [
  'attnMask',
  'isCausal',
  'bias',
  'alibiSlopes',
  'softcap',
  'kvLength',
  'dropoutP',
] as const;

/**
 * The one check of options that `sparseMask` stands in for: `given` maps each option's name
 * to its value, and any that is set (not undefined, false or 0) is an error naming it.
 */
export function assertNoSparseClash(
  where: string,
  given: Readonly<Record<string, unknown>>,
  hint: string,
): void {
  const clashing = Object.entries(given)
    .filter(([, value]) => value !== undefined && value !== false && value !== 0)
    .map(([name]) => name);
  if (clashing.length > 0) {
    fail(where, `sparseMask cannot be combined with ${clashing.join(', ')} (${hint})`);
  }
}

/**
 * `softmax(q·kᵀ·scale + mask)·v`, with the semantics of PyTorch's
 * `torch.nn.functional.scaled_dot_product_attention`:
 * - q `[B..., Hq, L, E]`, k `[B..., Hkv, S, E]`, v `[B..., Hkv, S, Ev]` → `[B..., Hq, L, Ev]`;
 *   the batch dimensions B... must match (they do not broadcast).
 * - `attnMask`: bool, `true` = may attend (SDPA's polarity; `MultiHeadAttention` uses the
 *   opposite), or float, added to the scores; broadcastable to `[B..., Hq, L, S]`.
 * - `isCausal`: top-left aligned like PyTorch; `causalAlignment: 'bottom-right'` aligns the
 *   last query with the last key (FlashAttention >= 2.1), as decoding with a KV cache needs.
 *   With `attnMask` too, a key must pass both (PyTorch raises an error for the pair).
 * - `scale`: default `1 / sqrt(E)`; `scale: 1` for T5.
 * - `enableGqa`: Hq may be a multiple of Hkv; query head h reads kv head `floor(h / (Hq/Hkv))`.
 * - Beyond PyTorch: `bias` (additive), `alibiSlopes` `[Hq]`, `softcap` (Gemma 2), `kvLength`.
 * - A row whose every key is masked gives zeros (never NaN).
 *
 * Without dropout this runs the fused `attention` op, which never materialises the L x S
 * scores.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: SdpaOptions = {},
): Tensor {
  validateSdpaArgs(q, k, v, options);
  const { dropoutP = 0, dropoutRandom, sparseMask, scoreMod, blockSize, ...rest } = options;
  if (sparseMask) {
    assertNoSparseClash(
      'scaledDotProductAttention',
      Object.fromEntries(DENSE_ONLY.map((name) => [name, options[name]])),
      'express them as @qkv/sparse mask patterns and scoreMod score modifiers',
    );
    return blockSparseAttention(q, k, v, sparseMask, {
      ...(rest.scale === undefined ? {} : { scale: rest.scale }),
      ...(rest.enableGqa === undefined ? {} : { enableGqa: rest.enableGqa }),
      ...(scoreMod ? { scoreMod } : {}),
      ...(blockSize === undefined ? {} : { blockSize }),
    });
  }
  if (scoreMod || blockSize !== undefined) {
    fail('scaledDotProductAttention', 'scoreMod and blockSize apply only with sparseMask');
  }
  if (dropoutP === 0) return attention(q, k, v, rest);
  if (!dropoutRandom) {
    fail('scaledDotProductAttention', 'dropoutP > 0 needs a dropoutRandom (a seeded Random)');
  }
  return scope(() => {
    const weights = dropout(attentionWeights(q, k, rest), dropoutP, dropoutRandom);
    return weightedValues(weights, v, rest.kvLength);
  });
}

/**
 * `weights · v` for grouped heads without copying v per query head: weights
 * `[B..., Hq, L, S]` are viewed as `[B..., Hkv, G, L, S]` against v `[B..., Hkv, 1, S, Ev]`.
 * Only the first `kvLength` rows of v are read.
 */
export function weightedValues(weights: Tensor, v: Tensor, kvLength?: number): Tensor {
  assertTensor('weightedValues', 'weights', weights);
  assertTensor('weightedValues', 'v', v);
  return scope(() => {
    const rows = v.shape[v.rank - 2]!;
    const used = kvLength !== undefined && kvLength < rows ? narrow(v, -2, 0, kvLength) : v;
    if (v.rank < 3) return matmul(weights, used);
    const batch = weights.shape.slice(0, -3);
    const [hq, l, s] = weights.shape.slice(-3) as [number, number, number];
    const hkv = v.shape[v.rank - 3]!;
    const ev = v.shape[v.rank - 1]!;
    const grouped = weights.reshape([...batch, hkv, hq / hkv, l, s]);
    const values = used.reshape([...batch, hkv, 1, s, ev]);
    return matmul(grouped, values).reshape([...batch, hq, l, ev]);
  });
}

export { attentionWeights };
