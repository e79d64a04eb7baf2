import { fail } from '../errors.js';
import { defineOp, type Inferred } from '../registry.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { AttentionDims } from './attention.js';
import {
  type BlockSparseAttentionAttrs,
  BlockSparseAttentionOp,
  scoreModGradRefusal,
} from './block-sparse-attention.js';
import { assertDTypeIn, describe } from './validate.js';

// The ops `blockSparseAttention`'s gradient runs: the same two steps as the dense attention
// gradient (FlashAttention-2, Dao 2023, Algorithm 2) but visiting only the key blocks the
// forward visits, so a sliding window of W keys trains in O(N·W): full blocks without the
// mask, partial blocks through it, every other block never touched.

/** Inputs q, k, v (shape checks only) of a block-sparse call, its dims and row shape. */
function forwardDims(
  where: string,
  q: Tensor | undefined,
  k: Tensor | undefined,
  v: Tensor | undefined,
  attrs: BlockSparseAttentionAttrs,
): { dims: AttentionDims; rows: number[]; out: number[] } {
  if (!q || !k || !v) fail(where, 'needs q, k and v');
  const inferred = BlockSparseAttentionOp.infer([q, k, v], attrs) as Inferred<AttentionDims>;
  const dims = inferred.plan;
  const out = inferred.outputs[0]!.shape as number[];
  return { dims, rows: out.slice(0, -1), out };
}

/**
 * Log-sum-exp of each query row's attended scores (`q·k * scale`, then the score modifier)
 * over the blocks `blocks` lists, float32 `[B, H, L]` (rank 3: `[H, L]`); -inf for a row
 * that attends no key. Inputs q, k, v (v is only checked, never read).
 */
export const BlockSparseAttentionLseOp = defineOp<BlockSparseAttentionAttrs, AttentionDims>({
  name: 'blockSparseAttentionLse',
  inputNames: ['query', 'key', 'value'],
  infer([q, k, v], attrs): Inferred<AttentionDims> {
    const { dims, rows } = forwardDims('blockSparseAttentionLse', q, k, v, attrs);
    return { outputs: [{ shape: rows, dtype: 'float32' }], plan: dims };
  },
});

/**
 * Gradients of `blockSparseAttention` with respect to q, k and v. Inputs q, k, v, `dOut`,
 * `lse` (the forward's `saveLse` output or {@link BlockSparseAttentionLseOp} of the same
 * call) and `delta` (float32 rowsum(dOut ∘ out)). For every attended (i, j) of the visited
 * blocks, with raw score r_ij = scale·q_i·k_j, final score s_ij = mod(r_ij) and
 * p_ij = exp(s_ij − lse_i): dV_j += p_ij·dOut_i, dS_ij = p_ij·(dOut_i·v_j − delta_i)·mod'(r_ij)
 * (the chain rule through the score modifier, `mods.scoreModGrad`; 1 without one),
 * dQ_i += scale·dS_ij·k_j, dK_j += scale·dS_ij·q_i; key/value head g sums the query heads of
 * its group (GQA). A row attending no key gets zero gradient. Outputs shaped like q, k, v. A
 * score modifier without a derivative is refused.
 */
export const BlockSparseAttentionBackwardOp = defineOp<BlockSparseAttentionAttrs, AttentionDims>({
  name: 'blockSparseAttentionBackward',
  inputNames: ['query', 'key', 'value', 'dOut', 'lse', 'delta'],
  infer([q, k, v, dOut, lse, delta], attrs): Inferred<AttentionDims> {
    const where = 'blockSparseAttentionBackward';
    const { dims, rows, out } = forwardDims(where, q, k, v, attrs);
    if (!dOut || !lse || !delta) fail(where, 'needs q, k, v, dOut, lse and delta');
    const refusal = scoreModGradRefusal(attrs.mods);
    if (refusal) fail(where, refusal);
    if (!shapesEqual(dOut.shape, out) || dOut.dtype !== q!.dtype) {
      fail(
        where,
        `dOut must be ${formatShape(out)} ${q!.dtype} (the attention output), got ${describe(dOut)}`,
      );
    }
    for (const [name, t] of [
      ['lse', lse],
      ['delta', delta],
    ] as const) {
      assertDTypeIn(where, name, t, ['float32']);
      if (!shapesEqual(t.shape, rows)) {
        fail(where, `${name} must be ${formatShape(rows)} float32, got ${describe(t)}`);
      }
    }
    return { outputs: [q!, k!, v!].map((t) => ({ shape: t.shape, dtype: t.dtype })), plan: dims };
  },
});
