import { createWebGPUDevice } from '@qkv/kernels';
import { cpu, type Device } from '@qkv/tensor';
import { sharedWasmDevice, WASM_BACKEND, wasmSimdSupported } from '@qkv/wasm';
import { type Timing, timeMaskedAttention } from '../model/cost.js';
import type { PatternMask } from '../model/masks.js';
import type { DeviceInfo } from './state.js';
import { workerTimer } from './worker-timer.js';

export interface TimingDevice {
  device: Device;
  /** The device in a few words, e.g. "CPU (WebAssembly SIMD, 1 thread)". */
  name: string;
  /** What the page says the times were measured on: where, and why it is not WebGPU. */
  label: string;
  /** Time masked attention (`timeMaskedAttention`) on this device, or in the timing worker. */
  time(mask: PatternMask, headDim: number, repeats: number): Promise<Timing>;
}

let webgpu: Promise<Device> | undefined;
let fallback: Promise<TimingDevice> | undefined;

const threadCount = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

function onDevice(device: Device, name: string): TimingDevice {
  return {
    device,
    name,
    label: name,
    time: (mask, headDim, repeats) => timeMaskedAttention(device, mask, headDim, repeats),
  };
}

/**
 * The CPU device of a page without WebGPU: @qkv/wasm's fast one (float32 WebAssembly SIMD; one
 * thread on the page's main thread, which may not block on workers), or the reference backend
 * where the engine lacks WebAssembly SIMD. Made once.
 */
export function cpuDevice(): Promise<TimingDevice> {
  fallback ??= (async () => {
    if (!wasmSimdSupported()) {
      return onDevice(cpu(), 'CPU (reference backend: no WebAssembly SIMD)');
    }
    const device = await sharedWasmDevice();
    return onDevice(device, `CPU (WebAssembly SIMD, ${threadCount(device.threads)})`);
  })();
  return fallback;
}

/**
 * The fast CPU device's timings are taken in a Web Worker, where its worker threads may run
 * (the worker may block while they do; threads also need a cross-origin-isolated page). Where
 * no module worker starts, on the main thread.
 */
async function cpuTiming(reason: string): Promise<TimingDevice> {
  const cpuFallback = await cpuDevice();
  let timed = cpuFallback;
  if (cpuFallback.device.backend === WASM_BACKEND) {
    try {
      const worker = await workerTimer();
      const where = `CPU (WebAssembly SIMD, ${threadCount(worker.threads)} in a Web Worker)`;
      timed = { ...cpuFallback, label: where, time: worker.time };
    } catch {}
  }
  return { ...timed, label: `${timed.label}; no WebGPU: ${reason}` };
}

/**
 * The device attention is timed and models run on: a WebGPU device from @qkv/kernels when
 * the browser has WebGPU (made once), else the CPU device; the label says which and why.
 */
export async function timingDevice(info: DeviceInfo): Promise<TimingDevice> {
  if (!info.webgpu) return cpuTiming(info.label);
  try {
    webgpu ??= createWebGPUDevice();
    const device = await webgpu;
    return onDevice(device, device.name);
  } catch (error) {
    webgpu = undefined;
    return cpuTiming(`its device failed: ${(error as Error).message}`);
  }
}
