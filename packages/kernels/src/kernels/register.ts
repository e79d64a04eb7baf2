import { type KernelContext, registerKernel, type Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';

/** Register a WebGPU kernel; it receives the device typed and returns output storages. */
export function registerGpuKernel<A, P = undefined>(
  op: string,
  run: (ctx: KernelContext<A, P>, device: WebGPUDevice) => GpuStorage[],
): void {
  registerKernel<A, P>({
    op,
    backend: 'webgpu',
    run: (ctx) => run(ctx, ctx.device as WebGPUDevice),
  });
}

/** A tensor's WebGPU storage. */
export function gpuStorage(t: Tensor): GpuStorage {
  return t.storage as GpuStorage;
}

/** A kernel input: its storage and dtype, as `MapKernel` takes them. */
export function operand(t: Tensor): { storage: GpuStorage; dtype: Tensor['dtype'] } {
  return { storage: gpuStorage(t), dtype: t.dtype };
}
