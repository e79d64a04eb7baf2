import { hasKernel } from '@qkv/tensor';
import { registerAttentionKernels } from './attention.js';
import { registerAttentionBackwardKernels } from './attention-backward.js';
import { registerBlockSparseKernels } from './attention-block-sparse.js';
import { registerBlockSparseBackwardKernels } from './attention-block-sparse-backward.js';
import { registerCrossEntropyKernels } from './cross-entropy.js';
import { registerElementwiseKernels } from './elementwise.js';
import { registerLayoutKernels } from './layout.js';
import { registerMatmulKernels } from './matmul.js';
import { registerNormKernels } from './norm.js';
import { registerReduceKernels } from './reduce.js';
import { registerRopeKernels } from './rope.js';

/** Register every WebGPU kernel, once (the first WebGPU device does it, not the import). */
export function registerWebGPUKernels(): void {
  if (hasKernel('add', 'webgpu')) return;
  registerElementwiseKernels();
  registerReduceKernels();
  registerMatmulKernels();
  registerLayoutKernels();
  registerNormKernels();
  registerAttentionKernels();
  registerAttentionBackwardKernels();
  registerRopeKernels();
  registerBlockSparseKernels();
  registerBlockSparseBackwardKernels();
  registerCrossEntropyKernels();
}
