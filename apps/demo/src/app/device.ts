import type { DeviceInfo } from './state.js';

interface AdapterLike {
  info?: {
    description?: string;
    vendor?: string;
    architecture?: string;
    isFallbackAdapter?: boolean;
  };
  /** Older Chromium puts the flag on the adapter, newer on its info. */
  isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(): Promise<AdapterLike | null>;
}

/**
 * Whether this browser offers WebGPU, for the badge and for timing. `?webgpu=0` in the URL
 * turns it off so the CPU path can be tried anywhere.
 */
export async function detectDevice(search: string): Promise<DeviceInfo> {
  if (new URLSearchParams(search).get('webgpu') === '0') {
    return { webgpu: false, software: false, label: 'turned off by ?webgpu=0' };
  }
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
  if (!gpu) return { webgpu: false, software: false, label: 'this browser has none' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { webgpu: false, software: false, label: 'the browser offers no adapter' };
    const { vendor = '', architecture = '', description = '' } = adapter.info ?? {};
    const name = [vendor, architecture, description].filter(Boolean).join(' ') || 'adapter';
    // SwiftShader (Chromium's fallback) and llvmpipe run the shaders on the CPU.
    const software =
      Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
      /swiftshader|llvmpipe|lavapipe|software/i.test(name);
    return { webgpu: true, software, label: `WebGPU: ${name}` };
  } catch (error) {
    return {
      webgpu: false,
      software: false,
      label: `requesting an adapter failed: ${(error as Error).message}`,
    };
  }
}
