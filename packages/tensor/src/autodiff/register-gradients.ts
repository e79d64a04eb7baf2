import { registerAttentionGradients } from '../ops/attention-grad.js';
import { registerCrossEntropyGradients } from '../ops/cross-entropy-grad.js';
import { registerElementwiseGradients } from '../ops/elementwise-grad.js';
import { registerLayoutGradients } from '../ops/layout-grad.js';
import { registerMatmulGradients } from '../ops/matmul-grad.js';
import { registerNormGradients } from '../ops/norm-grad.js';
import { registerReduceGradients } from '../ops/reduce-grad.js';
import { registerRopeGradients } from '../ops/rope-grad.js';
import { registerNonDifferentiable } from './gradient-registry.js';

/** Declare the gradients of the core ops (once, on first use of the tape). */
export function registerBuiltinGradients(): void {
  registerElementwiseGradients();
  registerReduceGradients();
  registerMatmulGradients();
  registerLayoutGradients();
  registerNormGradients();
  registerRopeGradients();
  registerAttentionGradients();
  registerCrossEntropyGradients();
  registerNonDifferentiable(
    [
      'attentionLse',
      'attentionBackward',
      'blockSparseAttentionLse',
      'blockSparseAttentionBackward',
      'crossEntropyBackward',
    ],
    'they compute a gradient themselves; training does not differentiate twice',
  );
}
