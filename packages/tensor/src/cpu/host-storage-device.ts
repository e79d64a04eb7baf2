import type { Device } from '../device.js';
import type { DType, TypedArray } from '../dtype.js';

/**
 * Storage for a device whose tensors live in host memory as plain typed arrays (float16 kept
 * in a Float32Array): the CPU reference backend, and any backend that shares its storage so
 * the reference kernels run on its tensors unchanged (`setKernelFallback`). Counts live
 * buffers for leak tests.
 */
export abstract class HostStorageDevice implements Device {
  abstract readonly backend: string;
  abstract readonly name: string;
  #live = 0;

  /** Takes ownership of `data`: callers pass arrays nobody else holds. */
  upload(data: TypedArray): TypedArray {
    this.#live++;
    return data;
  }

  async read(storage: unknown, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(storage, dtype, size);
  }

  readSync(storage: unknown, _dtype: DType, size: number): TypedArray {
    return (storage as TypedArray).slice(0, size);
  }

  release(): void {
    this.#live--;
  }

  liveBuffers(): number {
    return this.#live;
  }
}
