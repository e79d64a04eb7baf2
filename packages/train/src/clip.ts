import { add, div, minimum, mul, scope, sqrt, sum, type Tensor } from '@qkv/tensor';
import { fail } from './errors.js';

export interface ClippedGradients {
  /** The gradients scaled by min(1, maxNorm / (norm + 1e-6)): new tensors the caller owns. */
  grads: Tensor[];
  /** The global L2 norm before clipping, a 0-d tensor on the gradients' device. */
  totalNorm: Tensor;
}

/**
 * Scale gradients so their global L2 norm is at most `maxNorm`
 * (`torch.nn.utils.clip_grad_norm_`, including its 1e-6 in the denominator). Runs on the
 * device: no value is read back, so a training step does not wait for the GPU here.
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number): ClippedGradients {
  if (!(maxNorm > 0)) fail('clipGradNorm', `maxNorm must be a positive number, got ${maxNorm}`);
  if (grads.length === 0) fail('clipGradNorm', 'needs at least one gradient');
  return scope(() => {
    let squares: Tensor | undefined;
    for (const g of grads) {
      const s = sum(mul(g, g));
      squares = squares ? add(squares, s) : s;
    }
    const totalNorm = sqrt(squares!);
    const coefficient = minimum(div(maxNorm, add(totalNorm, 1e-6)), 1);
    return { grads: grads.map((g) => mul(g, coefficient)), totalNorm };
  });
}
