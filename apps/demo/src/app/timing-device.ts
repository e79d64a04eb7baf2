import { createWebGPUDevice } from '@qkv/kernels';
import { cpu, type Device } from '@qkv/tensor';
import { sharedWasmDevice, wasmSimdSupported } from '@qkv/wasm';
import type { DeviceInfo } from './state.js';

export interface TimingDevice {
  device: Device;
  /** The device in a few words, e.g. "CPU (WebAssembly SIMD, 1 thread)". */
  name: string;
  /** What the page says the times were measured on: the name, and why it is not WebGPU. */
  label: string;
}

let webgpu: Promise<Device> | undefined;
let fallback: Promise<TimingDevice> | undefined;

/**
 * The CPU device of a page without WebGPU: @qkv/wasm's fast one (float32 WebAssembly SIMD; one
 * thread on the page's main thread, which may not block on workers), or the reference backend
 * where the engine lacks WebAssembly SIMD. Made once.
 */
export function cpuDevice(): Promise<TimingDevice> {
  fallback ??= (async () => {
    if (!wasmSimdSupported()) {
      const name = 'CPU (reference backend: no WebAssembly SIMD)';
      return { device: cpu(), name, label: name };
    }
    const device = await sharedWasmDevice();
    const name = `CPU (WebAssembly SIMD, ${device.threads} thread${device.threads === 1 ? '' : 's'})`;
    return { device, name, label: name };
  })();
  return fallback;
}

/**
 * The device attention is timed and models run on: a WebGPU device from @qkv/kernels when
 * the browser has WebGPU (made once), else the CPU device; the label says which and why.
 */
export async function timingDevice(info: DeviceInfo): Promise<TimingDevice> {
  if (!info.webgpu) {
    const fallback = await cpuDevice();
    return { ...fallback, label: `${fallback.name}; no WebGPU: ${info.label}` };
  }
  try {
    webgpu ??= createWebGPUDevice();
    const device = await webgpu;
    return { device, name: device.name, label: device.name };
  } catch (error) {
    webgpu = undefined;
    const fallback = await cpuDevice();
    return {
      ...fallback,
      label: `${fallback.name}; no WebGPU device: ${(error as Error).message}`,
    };
  }
}
