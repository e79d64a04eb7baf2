import { registerGradient } from '../autodiff/gradient-registry.js';
import { zeros } from '../creation.js';
import { fail } from '../errors.js';
import { runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { type AttentionAttrs, attentionDims } from './attention.js';
import { AttentionBackwardOp, AttentionLseOp } from './attention-backward.js';
import {
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
} from './block-sparse-attention.js';
import {
  BlockSparseAttentionBackwardOp,
  BlockSparseAttentionLseOp,
} from './block-sparse-attention-backward.js';
import { mul, sub } from './elementwise.js';
import { cast, concat, narrow } from './layout.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';

/** Masks, biases and ALiBi slopes shape the scores but are not trained: no gradient. */
const noExtraGrads = (attrs: AttentionAttrs) =>
  Array.from(
    { length: Number(attrs.hasMask) + Number(attrs.hasBias) + Number(attrs.hasAlibi) },
    () => undefined,
  );

const toF32 = (t: Tensor) => (t.dtype === 'float32' ? t : cast(t, 'float32'));

/** Zero rows appended along the key axis so a gradient covers k's whole capacity. */
function padKeys(g: Tensor, capacity: number): Tensor {
  const axis = g.rank - 2;
  const missing = capacity - g.shape[axis]!;
  if (missing === 0) return g;
  const shape = g.shape.map((d, i) => (i === axis ? missing : d));
  return concat([g, zeros(shape, { dtype: g.dtype, device: g.device })], axis);
}

/**
 * delta for the backward ops when the forward also output its row log-sum-exp: a gradient
 * reaching it folds into delta, since d lse_i / d s_ij = p_ij makes
 * dS_ij = p_ij · (dOut_i · v_j − (delta_i − dLse_i)).
 */
function foldLseGrad(delta: Tensor, dLse: Tensor | undefined): Tensor {
  return dLse ? sub(delta, dLse) : delta;
}

export function registerAttentionGradients(): void {
  // FlashAttention-2: the row log-sum-exp (saved by the forward when the tape recorded it)
  // and delta = rowsum(dOut ∘ out) let the fused backward recompute probabilities tile by
  // tile.
  registerGradient<AttentionAttrs>(
    'attention',
    ([dy, dLse], { inputs, outputs: [out, savedLse], attrs }) => {
      const [q, k, v, ...extras] = inputs;
      const forward = { ...attrs, saveLse: false };
      const lse = savedLse ?? runOp(AttentionLseOp, [q!, k!, ...extras], forward)[0]!;
      const delta = foldLseGrad(toF32(sum(mul(dy!, out!), -1)), dLse);
      const [dq, dk, dv] = runOp(
        AttentionBackwardOp,
        [q!, k!, v!, dy!, lse, delta, ...extras],
        forward,
      );
      return [dq, dk, dv, ...noExtraGrads(attrs)];
    },
  );

  // The weights are materialised already, so their gradient is plain ops:
  // dS = P ∘ (dP − rowsum(dP ∘ P)), dQ = scale·dS·K, dK = scale·dSᵀ·Q, with the query heads
  // of a group stacked so one matmul sums them (GQA).
  registerGradient<AttentionAttrs>('attentionWeights', ([dy], { inputs, outputs: [p], attrs }) => {
    const [q, k] = inputs;
    if (attrs.softcap > 0) {
      fail('attentionWeights', 'the gradient with softcap is not supported; use attention()');
    }
    const d = attentionDims('attentionWeights', q, k, k, attrs);
    const dS = mul(p!, sub(dy!, sum(mul(dy!, p!), -1, true)));
    const stacked = [d.batch, d.kvHeads, d.groupSize * d.queryLength];
    const dS4 = dS.reshape([...stacked, d.kvLength]);
    const q4 = q!.reshape([...stacked, d.headDim]);
    const k4 = narrow(k!.reshape([d.batch, d.kvHeads, d.keyCapacity, d.headDim]), 2, 0, d.kvLength);
    const dq = mul(matmul(dS4, k4), attrs.scale).reshape(q!.shape);
    const dk = padKeys(mul(matmul(dS4, q4, { transposeA: true }), attrs.scale), d.keyCapacity);
    return [dq, dk.reshape(k!.shape), ...noExtraGrads(attrs)];
  });

  // Block-sparse attention: the same two steps over only the forward's blocks (the forward
  // saved the log-sum-exp when recorded), so a sliding window of W keys costs O(N·W) in the
  // backward too.
  registerGradient<BlockSparseAttentionAttrs>(
    BLOCK_SPARSE_ATTENTION,
    ([dy, dLse], { inputs, outputs: [out, savedLse], attrs }) => {
      const [q, k, v] = inputs;
      const forward = { ...attrs, saveLse: false };
      const lse = savedLse ?? runOp(BlockSparseAttentionLseOp, [q!, k!, v!], forward)[0]!;
      const delta = foldLseGrad(toF32(sum(mul(dy!, out!), -1)), dLse);
      return runOp(BlockSparseAttentionBackwardOp, [q!, k!, v!, dy!, lse, delta], forward);
    },
  );
}
