import { fail } from '../errors.js';
import { defineOp, type Inferred } from '../registry.js';
import { formatShape, shapesEqual } from '../shape.js';
import {
  type AttentionAttrs,
  type AttentionDims,
  attentionRowShape,
  denseAttentionDims,
} from './attention.js';
import { assertDTypeIn, describe } from './validate.js';

// The ops the `attention` gradient runs (FlashAttention-2, Dao 2023, Algorithm 2): the row
// log-sum-exp of the scores, then one fused backward that recomputes the probabilities from
// it and never materialises the L x S matrix.

/**
 * Log-sum-exp over keys of each query row's final scores (steps 1-3 of {@link AttentionOp}),
 * float32; a fully masked row gives -inf. Inputs: q, k and the optional mask, bias,
 * alibiSlopes, with the attention attributes. The gradient of a recorded `attention` call
 * reads the forward's own `saveLse` output instead; this op serves calls made without it.
 */
export const AttentionLseOp = defineOp<AttentionAttrs, AttentionDims>({
  name: 'attentionLse',
  inputNames: ['q', 'k', 'mask', 'bias', 'alibiSlopes'],
  infer(inputs, attrs): Inferred<AttentionDims> {
    const [q, k, ...extras] = inputs;
    // k stands in for v: the log-sum-exp never reads v.
    const d = denseAttentionDims('attentionLse', [q, k, k, ...extras], attrs);
    const shape = attentionRowShape(q!, d);
    return { outputs: [{ shape, dtype: 'float32' }], plan: d };
  },
});

/**
 * Gradients of `attention` with respect to q, k and v. Inputs, in order: q, k, v, `dOut`
 * (the output's gradient), `lse` (float32, the forward's `saveLse` output or
 * {@link AttentionLseOp} of the same call), `delta` (float32 rowsum(dOut ∘ out),
 * `[B..., Hq, L]`), then the forward's mask, bias, alibiSlopes. Per row i and key j, with p_ij = exp(s_ij − lse_i) (0 where masked or the
 * row is fully masked):
 *   dV_j += p_ij · dOut_i,   dS_ij = p_ij · (dOut_i · v_j − delta_i) · softcap'(s_ij),
 *   dQ_i += scale · dS_ij · k_j,   dK_j += scale · dS_ij · q_i,
 * where key/value head g collects the sums of every query head of its group (GQA). Rows of
 * k and v past `kvLength` get zero gradient. Outputs dQ, dK, dV shaped like q, k, v.
 */
export const AttentionBackwardOp = defineOp<AttentionAttrs, AttentionDims>({
  name: 'attentionBackward',
  inputNames: ['q', 'k', 'v', 'dOut', 'lse', 'delta', 'mask', 'bias', 'alibiSlopes'],
  infer(inputs, attrs): Inferred<AttentionDims> {
    const [q, k, v, dOut, lse, delta, ...extras] = inputs;
    if (!q || !k || !v || !dOut || !lse || !delta) {
      fail('attentionBackward', 'needs q, k, v, dOut, lse and delta');
    }
    const d = denseAttentionDims('attentionBackward', [q, k, v, ...extras], attrs);
    const outShape =
      q.rank === 2
        ? [d.queryLength, d.valueDim]
        : [...d.batchShape, d.qHeads, d.queryLength, d.valueDim];
    if (!shapesEqual(dOut.shape, outShape) || dOut.dtype !== q.dtype) {
      fail(
        'attentionBackward',
        `dOut must be ${formatShape(outShape)} ${q.dtype} (the attention output), got ${describe(dOut)}`,
      );
    }
    const rows = attentionRowShape(q, d);
    for (const [name, t] of [
      ['lse', lse],
      ['delta', delta],
    ] as const) {
      assertDTypeIn('attentionBackward', name, t, ['float32']);
      if (!shapesEqual(t.shape, rows)) {
        fail(
          'attentionBackward',
          `${name} must be ${formatShape(rows)} float32, got ${describe(t)}`,
        );
      }
    }
    return { outputs: [q, k, v].map((t) => ({ shape: t.shape, dtype: t.dtype })), plan: d };
  },
});
