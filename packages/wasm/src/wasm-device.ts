import {
  cpu,
  getKernel,
  HostStorageDevice,
  type KernelContext,
  type KernelFunc,
  setKernelFallback,
} from '@qkv/tensor';
import { registerAttentionKernel } from './kernels/attention.js';
import { registerAttentionBackwardKernels } from './kernels/attention-backward.js';
import { registerBlockSparseAttentionKernel } from './kernels/block-sparse-attention.js';
import { registerBlockSparseAttentionBackwardKernel } from './kernels/block-sparse-attention-backward.js';
import { registerCompareKernels } from './kernels/compare.js';
import { registerCrossEntropyKernels } from './kernels/cross-entropy.js';
import { NATIVE_BINARY, NATIVE_UNARY, registerElementwiseKernels } from './kernels/elementwise.js';
import { registerMatmulKernel } from './kernels/matmul.js';
import { registerPermuteKernel } from './kernels/permute.js';
import { registerRowKernels } from './kernels/rows.js';
import { KernelModule } from './wasm-module.js';

export const WASM_BACKEND = 'wasm';

export interface WasmDeviceOptions {
  /**
   * Threads the native kernels split their work over (default 1). More than one needs
   * `SharedArrayBuffer` and a thread allowed to block: Node, or a Web Worker of a
   * cross-origin-isolated page. Elsewhere the device runs on one thread; `device.threads`
   * says how many it got.
   */
  threads?: number;
}

/**
 * The fast CPU device. Storage is exactly the reference CPU backend's (a typed array the
 * device owns: Float32Array for float32 and float16, Int32Array, Uint32Array, Uint8Array for
 * bool), so every op without a native kernel runs the reference kernel on the same arrays
 * with no conversion. Native kernels copy float32 operands into the module's memory.
 */
export class WasmDevice extends HostStorageDevice {
  readonly backend = WASM_BACKEND;
  readonly name: string;
  readonly threads: number;
  readonly module: KernelModule;

  constructor(module: KernelModule) {
    super();
    this.module = module;
    const threads = module.threads;
    this.threads = threads;
    this.name = `wasm (SIMD, ${threads} thread${threads === 1 ? '' : 's'})`;
  }

  /** Stop the worker threads, if any; the device must not be used afterwards. */
  dispose(): void {
    this.module.terminate();
  }
}

/**
 * Ops with a WebAssembly kernel (float32 only; other dtypes, and broadcasts other than same
 * shape, scalar and trailing dimensions, take the reference kernel).
 */
export const NATIVE_OPS: readonly string[] = [
  'matmul',
  'attention',
  'blockSparseAttention',
  'softmax',
  'layerNorm',
  'rmsNorm',
  'attentionLse',
  'attentionBackward',
  'blockSparseAttentionBackward',
  'crossEntropyBackward',
  ...NATIVE_UNARY,
  ...NATIVE_BINARY,
];

let registered = false;

/**
 * Register the native kernels, and in JavaScript on the typed arrays `permute` (a strided
 * copy: a training step's head splits and merges), the comparisons and `where` (rows x cols
 * loops: the one-hot matrices of a gradient); every other op, including ops declared later
 * (such as `@qkv/sparse`'s), runs the reference CPU kernel through the registry's fallback.
 */
function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  cpu(); // registers the reference kernels the native ones fall back on for other dtypes
  setKernelFallback(WASM_BACKEND, 'cpu');
  registerMatmulKernel(reference('matmul'));
  registerAttentionKernel(reference('attention'));
  registerBlockSparseAttentionKernel(reference('blockSparseAttention'));
  registerRowKernels(reference);
  registerPermuteKernel();
  registerCompareKernels(reference);
  registerCrossEntropyKernels(reference);
  registerElementwiseKernels(reference);
  registerAttentionBackwardKernels(reference);
  registerBlockSparseAttentionBackwardKernel(reference('blockSparseAttentionBackward'));
}

/**
 * The reference CPU kernel of `op`, run on this device's tensors: it reads the same typed
 * arrays and hands its outputs to `ctx.device.upload`, so results land on this device.
 */
export function reference<A, P = undefined>(op: string): KernelFunc<A, P> {
  const kernel = getKernel(op, 'cpu');
  if (!kernel) throw new Error(`@qkv/wasm: the CPU backend has no kernel for op "${op}"`);
  return (ctx: KernelContext<A, P>) => kernel.run(ctx as unknown as KernelContext<never, never>);
}

/**
 * Create the fast CPU device: float32 kernels in WebAssembly SIMD for matmul and fused
 * attention, the reference CPU kernels for everything else. Works in Node and browsers.
 */
export async function createWasmDevice(options: WasmDeviceOptions = {}): Promise<WasmDevice> {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`createWasmDevice: threads must be an integer >= 1, got ${threads}`);
  }
  registerWasmKernels();
  return new WasmDevice(await KernelModule.create(threads));
}
