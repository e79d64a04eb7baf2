import type { DeviceInfo } from './state.js';

interface GpuLike {
  requestAdapter(): Promise<{
    info?: { description?: string; vendor?: string; architecture?: string };
  } | null>;
}

/**
 * Whether this browser offers WebGPU, for the badge and for timing. `?webgpu=0` in the URL
 * turns it off so the CPU path can be tried anywhere.
 */
export async function detectDevice(search: string): Promise<DeviceInfo> {
  if (new URLSearchParams(search).get('webgpu') === '0') {
    return { webgpu: false, label: 'CPU (WebGPU turned off by ?webgpu=0)' };
  }
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { webgpu: false, label: 'CPU (this browser has no WebGPU)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { webgpu: false, label: 'CPU (WebGPU offers no adapter)' };
    const { vendor = '', architecture = '', description = '' } = adapter.info ?? {};
    const name = [vendor, architecture, description].filter(Boolean).join(' ') || 'adapter';
    return { webgpu: true, label: `WebGPU: ${name}` };
  } catch (error) {
    return { webgpu: false, label: `CPU (WebGPU failed: ${(error as Error).message})` };
  }
}
