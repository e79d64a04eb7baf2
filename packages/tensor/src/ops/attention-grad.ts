import { sumToShape } from '../autodiff/broadcast.js';
import { registerGradient } from '../autodiff/gradient-registry.js';
import { zeros } from '../creation.js';
import { isFloatDType } from '../dtype.js';
import { fail } from '../errors.js';
import { runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { type AttentionAttrs, AttentionWeightsOp, attentionDims } from './attention.js';
import { AttentionBackwardOp, AttentionLseOp } from './attention-backward.js';
import {
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  scoreModGradRefusal,
} from './block-sparse-attention.js';
import {
  BlockSparseAttentionBackwardOp,
  BlockSparseAttentionLseOp,
} from './block-sparse-attention-backward.js';
import { equal, mul, sub, where } from './elementwise.js';
import { cast, concat, narrow } from './layout.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';

/**
 * Gradients of the optional inputs after q, k, v (mask, bias, alibiSlopes, in that order,
 * those present). A float mask and a bias are added to the scores after the softcap, so their
 * gradient is dS = P ∘ (dP − delta) summed over the dimensions they were broadcast along
 * (as PyTorch's math and memory-efficient SDPA backends give `attn_mask`). It costs an L x S
 * pass, so it runs only when the tape wants it; a bool mask has none, and ALiBi slopes, which
 * scale a fixed distance, are not differentiated (asking for them is an error).
 */
function extraGrads(
  attrs: AttentionAttrs,
  extras: readonly Tensor[],
  needsGrad: readonly boolean[],
  scoreGrad: () => Tensor,
): (Tensor | undefined)[] {
  const names = [
    ...(attrs.hasMask ? ['mask'] : []),
    ...(attrs.hasBias ? ['bias'] : []),
    ...(attrs.hasAlibi ? ['alibiSlopes'] : []),
  ];
  let dS: Tensor | undefined;
  return names.map((name, i) => {
    const t = extras[i]!;
    if (!needsGrad[i] || !isFloatDType(t.dtype)) return undefined;
    if (name === 'alibiSlopes') {
      fail(
        'grads',
        'attention gives no gradient for alibiSlopes (each slope scales a fixed distance); pass the slopes as a constant, or a float bias if it must be learned',
      );
    }
    dS ??= scoreGrad();
    const g = sumToShape(dS, t.shape);
    return g.dtype === t.dtype ? g : cast(g, t.dtype);
  });
}

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
    ([dy, dLse], { inputs, outputs: [out, savedLse], attrs, needsGrad }) => {
      const [q, k, v, ...extras] = inputs;
      const forward = { ...attrs, saveLse: false };
      const lse = savedLse ?? runOp(AttentionLseOp, [q!, k!, ...extras], forward)[0]!;
      const delta = foldLseGrad(toF32(sum(mul(dy!, out!), -1)), dLse);
      const [dq, dk, dv] = runOp(
        AttentionBackwardOp,
        [q!, k!, v!, dy!, lse, delta, ...extras],
        forward,
      );
      const scoreGrad = () => {
        // dP = dOut · vᵀ with each group's query heads stacked (GQA), then dS = P ∘ (dP − δ);
        // zero where P is (masked keys: NaN in v there must not leak).
        const d = attentionDims('attention', q, k, v, forward);
        const p = runOp(AttentionWeightsOp, [q!, k!, ...extras], forward)[0]!;
        const stacked = [d.batch, d.kvHeads, d.groupSize * d.queryLength];
        const v4 = narrow(
          v!.reshape([d.batch, d.kvHeads, d.keyCapacity, d.valueDim]),
          2,
          0,
          d.kvLength,
        );
        const dP = matmul(dy!.reshape([...stacked, d.valueDim]), v4, { transposeB: true });
        const centred = sub(toF32(dP).reshape(p.shape), delta.reshape([...delta.shape, 1]));
        return where(equal(p, 0), 0, mul(toF32(p), centred));
      };
      return [dq, dk, dv, ...extraGrads(attrs, extras, needsGrad.slice(3), scoreGrad)];
    },
  );

  // The weights are materialised already, so their gradient is plain ops:
  // dS = P ∘ (dP − rowsum(dP ∘ P)), dQ = scale·dS·K, dK = scale·dSᵀ·Q, with the query heads
  // of a group stacked so one matmul sums them (GQA).
  registerGradient<AttentionAttrs>(
    'attentionWeights',
    ([dy], { inputs, outputs: [p], attrs, needsGrad }) => {
      const [q, k, ...extras] = inputs;
      if (attrs.softcap > 0) {
        fail('attentionWeights', 'the gradient with softcap is not supported; use attention()');
      }
      const d = attentionDims('attentionWeights', q, k, k, attrs);
      const dS = mul(p!, sub(dy!, sum(mul(dy!, p!), -1, true)));
      const stacked = [d.batch, d.kvHeads, d.groupSize * d.queryLength];
      const dS4 = dS.reshape([...stacked, d.kvLength]);
      const q4 = q!.reshape([...stacked, d.headDim]);
      const k4 = narrow(
        k!.reshape([d.batch, d.kvHeads, d.keyCapacity, d.headDim]),
        2,
        0,
        d.kvLength,
      );
      const dq = mul(matmul(dS4, k4), attrs.scale).reshape(q!.shape);
      const dk = padKeys(mul(matmul(dS4, q4, { transposeA: true }), attrs.scale), d.keyCapacity);
      return [dq, dk.reshape(k!.shape), ...extraGrads(attrs, extras, needsGrad.slice(2), () => dS)];
    },
  );

  // Block-sparse attention: the same two steps over only the forward's blocks (the forward
  // saved the log-sum-exp when recorded), so a sliding window of W keys costs O(N·W) in the
  // backward too. A score modifier passes its gradient through its compiled derivative; one
  // without is refused when the forward is recorded.
  registerGradient<BlockSparseAttentionAttrs>(
    BLOCK_SPARSE_ATTENTION,
    ([dy, dLse], { inputs, outputs: [out, savedLse], attrs }) => {
      const [q, k, v] = inputs;
      const forward = { ...attrs, saveLse: false };
      const lse = savedLse ?? runOp(BlockSparseAttentionLseOp, [q!, k!, v!], forward)[0]!;
      const delta = foldLseGrad(toF32(sum(mul(dy!, out!), -1)), dLse);
      return runOp(BlockSparseAttentionBackwardOp, [q!, k!, v!, dy!, lse, delta], forward);
    },
    { refuses: (attrs) => scoreModGradRefusal(attrs.mods) },
  );
}
