import { debugFlags, poisonValue } from '../debug.js';
import type { Device } from '../device.js';
import { allocateTypedArray, roundToFloat16, type TypedArray } from '../dtype.js';
import { type KernelContext, registerKernel } from '../registry.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { registerAttentionKernels } from './attention.js';
import { registerAttentionBackwardKernels } from './attention-backward.js';
import { registerBlockSparseAttentionKernel } from './block-sparse-attention.js';
import { registerBlockSparseAttentionBackwardKernels } from './block-sparse-attention-backward.js';
import { registerCrossEntropyKernels } from './cross-entropy.js';
import { registerElementwiseKernels } from './elementwise.js';
import { HostStorageDevice } from './host-storage-device.js';
import { registerLayoutKernels } from './layout.js';
import { registerMatmulKernels } from './matmul.js';
import { registerNormKernels } from './norm.js';
import { registerReduceKernels } from './reduce.js';
import { registerRopeKernels } from './rope.js';

/**
 * The CPU reference backend. Storage is a plain typed array (float16 values are kept in a
 * Float32Array, rounded to half precision after every op). Kernels are plain loops that
 * accumulate long sums in float64: readable first, fast second.
 */
class CpuDevice extends HostStorageDevice {
  readonly backend = 'cpu';
  readonly name = 'cpu';
}

let cpuDevice: CpuDevice | undefined;

/** The CPU device (one per process); creating it registers the CPU kernels. */
export function cpu(): Device {
  if (!cpuDevice) {
    registerElementwiseKernels();
    registerReduceKernels();
    registerMatmulKernels();
    registerLayoutKernels();
    registerNormKernels();
    registerAttentionKernels();
    registerAttentionBackwardKernels();
    registerRopeKernels();
    registerBlockSparseAttentionKernel();
    registerBlockSparseAttentionBackwardKernels();
    registerCrossEntropyKernels();
    cpuDevice = new CpuDevice();
  }
  return cpuDevice;
}

/** A CPU tensor's storage, typed. */
export function cpuData(t: Tensor): TypedArray {
  return t.storage as TypedArray;
}

/**
 * Register a CPU kernel that fills freshly allocated output arrays. float16 outputs are
 * rounded to half precision afterwards, so every op stores exactly what a float16 tensor can
 * hold.
 */
export function registerCpuKernel<A, P = undefined>(
  op: string,
  fill: (ctx: KernelContext<A, P>, outputs: TypedArray[]) => void,
): void {
  registerKernel<A, P>({
    op,
    backend: 'cpu',
    run(ctx) {
      const outputs = ctx.outputs.map((o) => {
        const out = allocateTypedArray(o.dtype, sizeOf(o.shape));
        if (debugFlags.poisonOutputs) out.fill(poisonValue(o.dtype));
        return out;
      });
      fill(ctx, outputs);
      ctx.outputs.forEach((o, i) => {
        if (o.dtype === 'float16') {
          const out = outputs[i]!;
          for (let j = 0; j < out.length; j++) out[j] = roundToFloat16(out[j]!);
        }
      });
      return outputs.map((o, i) => ctx.device.upload(o, ctx.outputs[i]!.dtype));
    },
  });
}
