import { cpu, type Device } from '@qkv/tensor';
import type { DeviceInfo } from './state.js';

export interface TimingDevice {
  device: Device;
  /** What the page says the times were measured on. */
  label: string;
}

/**
 * The device attention is timed on. The WebGPU backend lives in `@qkv/kernels`; until a
 * WebGPU device can be made here, the CPU backend is used and the page says why.
 */
export async function timingDevice(info: DeviceInfo): Promise<TimingDevice> {
  const reason = info.webgpu ? 'WebGPU kernels not available in this build' : info.label;
  return { device: cpu(), label: `CPU backend (${reason})` };
}
