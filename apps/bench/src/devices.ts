import { cpu, type Device, QkvError, type Tensor } from '@qkv/tensor';
import type { AttentionPath, MemoryProbe } from './suite.js';
import { openWasmDevice } from './wasm-device.js';

export type DeviceKind = 'cpu' | 'wasm' | 'webgpu';
export const DEVICE_KINDS: readonly DeviceKind[] = ['cpu', 'wasm', 'webgpu'];

/** What `@qkv/kernels` is expected to export; only the part the runner uses. */
export interface KernelsModule {
  createWebGPUDevice(options?: Record<string, unknown>): Device | Promise<Device>;
  /** Force the WebGPU attention path; returns the previous setting. */
  setAttentionPath?(path: AttentionPath): string;
}

/** The device description written into a result file. */
export interface DeviceInfo {
  kind: DeviceKind;
  name: string;
  backend: string;
  adapter?: Record<string, string | number | boolean>;
  features?: string[];
  limits?: Record<string, number>;
}

export interface BenchDevice {
  kind: DeviceKind;
  device: Device;
  info: DeviceInfo;
  /** Wait until the work that produced `t` has finished, so a timed call includes it. */
  settle(t: Tensor): Promise<void>;
  /** Memory counters, when the device keeps them (`WebGPUDevice.peakBytes`). */
  memory?: MemoryProbe;
  /** `@qkv/kernels`' `setAttentionPath`, on WebGPU. */
  setAttentionPath?: (path: AttentionPath) => string;
}

export interface DeviceOptions {
  /** A module to use instead of importing `@qkv/kernels` (the single-file bundle passes it). */
  kernels?: KernelsModule;
  /** Passed to `createWebGPUDevice`, e.g. `{ backend: 'vulkan' }`. */
  webgpu?: Record<string, unknown>;
}

const KERNELS_PACKAGE = '@qkv/kernels';

/**
 * Import the WebGPU backend lazily: the CPU suites must run where `@qkv/kernels` (and the
 * `webgpu` package under it) is not installed.
 */
export async function loadKernels(): Promise<KernelsModule> {
  let mod: Partial<KernelsModule>;
  try {
    // A variable specifier keeps bundlers and the type checker from requiring the package.
    mod = (await import(/* @vite-ignore */ KERNELS_PACKAGE)) as Partial<KernelsModule>;
  } catch (error) {
    throw new QkvError(
      `bench --device webgpu: cannot load ${KERNELS_PACKAGE} (${(error as Error).message}). ` +
        `It provides createWebGPUDevice(); add "${KERNELS_PACKAGE}": "workspace:^" to ` +
        'apps/bench/package.json and install, or run with --device cpu.',
    );
  }
  if (typeof mod.createWebGPUDevice !== 'function') {
    throw new QkvError(
      `bench --device webgpu: ${KERNELS_PACKAGE} does not export createWebGPUDevice()`,
    );
  }
  return mod as KernelsModule;
}

export async function openDevice(
  kind: DeviceKind,
  options: DeviceOptions = {},
): Promise<BenchDevice> {
  if (kind === 'cpu') {
    const device = cpu();
    return {
      kind,
      device,
      info: { kind, name: device.name, backend: device.backend },
      // The CPU backend computes eagerly: the result exists when the op returns.
      settle: async () => {},
    };
  }
  if (kind === 'wasm') return openWasmDevice();
  if (kind !== 'webgpu') {
    throw new QkvError(
      `bench: unknown device "${String(kind)}" (expected ${DEVICE_KINDS.join(' or ')})`,
    );
  }
  const kernels = options.kernels ?? (await loadKernels());
  const device = await kernels.createWebGPUDevice(options.webgpu ?? {});
  const bench: BenchDevice = {
    kind,
    device,
    info: describeGpu(device),
    settle: (t) => settleGpu(device, t),
  };
  const memory = memoryProbe(device);
  if (memory) bench.memory = memory;
  const setPath = kernels.setAttentionPath;
  if (typeof setPath === 'function') bench.setAttentionPath = (path) => setPath(path);
  return bench;
}

/** What `WebGPUDevice` offers for memory accounting, read without depending on its type. */
interface MemoryCounting {
  readonly bytesInUse: number;
  readonly peakBytes: number;
  resetPeakBytes(): void;
}

/** The device's memory counters, when it has them (an older `@qkv/kernels` does not). */
export function memoryProbe(device: Device): MemoryProbe | undefined {
  const counting = device as Device & Partial<MemoryCounting>;
  if (typeof counting.peakBytes !== 'number' || typeof counting.resetPeakBytes !== 'function') {
    return undefined;
  }
  return {
    bytesInUse: () => counting.bytesInUse ?? 0,
    peakBytes: () => counting.peakBytes ?? 0,
    resetPeak: () => counting.resetPeakBytes?.(),
  };
}

/** Minimal shape of a WebGPU device handle, to describe it without depending on its types. */
interface GpuLike {
  features?: Iterable<string>;
  limits?: object;
  adapterInfo?: object;
  info?: object;
}

/**
 * The adapter description, features and limits, read from whichever handles the qkv device
 * exposes (`gpuDevice` / `adapter`, or the `GPUDevice` itself).
 */
export function describeGpu(device: Device): DeviceInfo {
  const holder = device as unknown as Record<string, unknown>;
  const gpu = (holder.gpuDevice ?? holder.gpu ?? holder.device) as GpuLike | undefined;
  const adapter = holder.adapter as GpuLike | undefined;
  const info: DeviceInfo = { kind: 'webgpu', name: device.name, backend: device.backend };
  const adapterInfo = gpu?.adapterInfo ?? adapter?.info ?? holder.adapterInfo;
  if (adapterInfo && typeof adapterInfo === 'object') info.adapter = plainFields(adapterInfo);
  const features = gpu?.features ?? adapter?.features;
  if (features) info.features = [...features].sort();
  const limits = gpu?.limits ?? adapter?.limits;
  if (limits) {
    info.limits = Object.fromEntries(
      Object.entries(plainFields(limits)).filter(
        (e): e is [string, number] => typeof e[1] === 'number',
      ),
    );
  }
  return info;
}

/** Own and prototype getters of a WebIDL object (their values are not own properties). */
function plainFields(obj: object): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const key in obj) {
    const value = (obj as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Wait for the GPU: a device that offers `sync()` (queue `onSubmittedWorkDone`) is used as
 * is; otherwise the output is read back, which adds a copy to the measured time.
 */
async function settleGpu(device: Device, t: Tensor): Promise<void> {
  const syncable = device as Device & { sync?: () => Promise<void> };
  if (typeof syncable.sync === 'function') {
    syncable.flush?.();
    await syncable.sync();
    return;
  }
  await t.data();
}
