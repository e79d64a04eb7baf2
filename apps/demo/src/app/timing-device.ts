import { createWebGPUDevice } from '@qkv/kernels';
import { cpu, type Device } from '@qkv/tensor';
import type { DeviceInfo } from './state.js';

export interface TimingDevice {
  device: Device;
  /** What the page says the times were measured on. */
  label: string;
}

let webgpu: Promise<Device> | undefined;

/**
 * The device attention is timed on: a WebGPU device from @qkv/kernels when the browser has
 * WebGPU (made once), else the CPU backend; the label says which and why.
 */
export async function timingDevice(info: DeviceInfo): Promise<TimingDevice> {
  if (!info.webgpu) return { device: cpu(), label: `CPU backend (${info.label})` };
  try {
    webgpu ??= createWebGPUDevice();
    const device = await webgpu;
    return { device, label: device.name };
  } catch (error) {
    webgpu = undefined;
    return {
      device: cpu(),
      label: `CPU backend (no WebGPU device: ${(error as Error).message})`,
    };
  }
}
