import { cpu } from './cpu/cpu-device.js';
import type { DType, TypedArray } from './dtype.js';

/**
 * A place tensors live and ops run: the CPU reference backend, or a WebGPU device from
 * `@qkv/kernels`. A backend implements this interface and registers a kernel per op
 * (see `registerKernel`). Storage handles are opaque to everything but the backend.
 */
export interface Device {
  /** Backend name kernels are registered under, e.g. `cpu` or `webgpu`. */
  readonly backend: string;
  /** Human-readable name used in error messages, e.g. `webgpu (SwiftShader Device)`. */
  readonly name: string;
  /** Copy host data (already in the dtype's typed array) into new device storage. */
  upload(data: TypedArray, dtype: DType): unknown;
  /** Read `size` elements of storage back to the host. */
  read(storage: unknown, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read, for devices whose memory the host can see (the CPU). */
  readSync?(storage: unknown, dtype: DType, size: number): TypedArray;
  /** Give storage back (to a pool or to the system); called once when no tensor uses it. */
  release(storage: unknown): void;
  /** Storage buffers currently allocated and not released; tests use it to prove no leaks. */
  liveBuffers(): number;
  /** Submit pending work, if the backend batches it. */
  flush?(): void;
}

let defaultDevice: Device | undefined;

/** The device used when a creation function is given none: the CPU unless changed. */
export function getDefaultDevice(): Device {
  defaultDevice ??= cpu();
  return defaultDevice;
}

export function setDefaultDevice(device: Device): void {
  defaultDevice = device;
}
