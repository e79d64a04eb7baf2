import { add, div, matmul, softmax, type Tensor, tensor, where } from '@qkv/tensor';

/** The causal mask `[L, S]`, top-left aligned like PyTorch's is_causal: query i sees keys j <= i. */
export function causalAllowed(L: number, S: number): Tensor {
  return tensor(
    Array.from({ length: L * S }, (_, f) => Math.floor(f / S) >= f % S),
    [L, S],
  );
}

/**
 * The scaled scores Q·Kᵀ/√d (+ an additive `bias`, e.g. ALiBi's) that the page shows before
 * the softmax, -Infinity where the bool mask `allowed` (`[L, S]`, true = may attend) forbids
 * a pair.
 */
export function scaledScores(q: Tensor, k: Tensor, allowed?: Tensor, bias?: Tensor): Tensor {
  const d = q.shape[q.rank - 1]!;
  let scores = div(matmul(q, k, { transposeB: true }), Math.sqrt(d));
  if (bias) {
    const biased = add(scores, bias);
    scores.dispose();
    scores = biased;
  }
  if (!allowed) return scores;
  const masked = where(allowed, scores, Number.NEGATIVE_INFINITY);
  scores.dispose();
  return masked;
}

/**
 * softmax(Q·Kᵀ/√d + mask)·V from primitive ops (matmul, where, softmax), for devices
 * without a fused attention kernel.
 */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, allowed?: Tensor): Tensor {
  const scores = scaledScores(q, k, allowed);
  const weights = softmax(scores);
  scores.dispose();
  const out = matmul(weights, v);
  weights.dispose();
  return out;
}
