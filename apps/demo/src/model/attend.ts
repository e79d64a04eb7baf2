import { div, matmul, softmax, type Tensor, where } from '@qkv/tensor';

export interface Attended {
  /** Q·Kᵀ/√d, -Infinity where the mask forbids a pair. */
  scores: Tensor;
  /** softmax over keys. */
  weights: Tensor;
  /** weights·V. */
  output: Tensor;
}

/**
 * Scaled dot-product attention with every intermediate kept (Vaswani et al. 2017, eq. 1):
 * q `[..., L, d]`, k `[..., S, d]`, v `[..., S, dv]`, `allowed` a bool `[L, S]` mask
 * (true = may attend), broadcast over the leading dimensions.
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, allowed?: Tensor): Attended {
  const d = q.shape[q.rank - 1]!;
  const raw = div(matmul(q, k, { transposeB: true }), Math.sqrt(d));
  const scores = allowed ? where(allowed, raw, Number.NEGATIVE_INFINITY) : raw;
  if (scores !== raw) raw.dispose();
  const weights = softmax(scores);
  return { scores, weights, output: matmul(weights, v) };
}
