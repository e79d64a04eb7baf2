import { hasKernel } from '@qkv/tensor';
import { registerElementwiseKernels } from './elementwise.js';
import { registerLayoutKernels } from './layout.js';
import { registerMatmulKernels } from './matmul.js';
import { registerNormKernels } from './norm.js';
import { registerReduceKernels } from './reduce.js';

/** Register every WebGPU kernel, once (the first WebGPU device does it, not the import). */
export function registerWebGPUKernels(): void {
  if (hasKernel('add', 'webgpu')) return;
  registerElementwiseKernels();
  registerReduceKernels();
  registerMatmulKernels();
  registerLayoutKernels();
  registerNormKernels();
}
