import { gpuErrorScope, noGpuTest } from '@qkv/conformance';
import { liveTensors } from '@qkv/tensor';
import { expect, it } from 'vitest';
import { createWebGPUDevice, type WebGPUDeviceOptions } from '../create-device.js';
import type { WebGPUDevice } from '../runtime/webgpu-device.js';

export interface GpuFixture {
  /** The shared device, or undefined when no adapter was found. */
  readonly device: WebGPUDevice | undefined;
  /** Why there is no device. */
  readonly error: Error | undefined;
  /**
   * A test on the device, inside a `validation` error scope (anything it catches fails the
   * test), that must leave as many live buffers and tensors as it found.
   */
  test(name: string, fn: (device: WebGPUDevice) => Promise<void> | void, timeout?: number): void;
}

const devices = new Map<string, Promise<WebGPUDevice>>();

/**
 * Adapter selection from the environment, for a second pass on another adapter, e.g. Mesa
 * llvmpipe through Dawn's OpenGL ES backend in compatibility mode:
 * `EGL_PLATFORM=surfaceless QKV_DAWN_BACKEND=opengles QKV_FEATURE_LEVEL=compatibility`.
 */
export function adapterFromEnv(): WebGPUDeviceOptions {
  const options: WebGPUDeviceOptions = {};
  if (process.env.QKV_DAWN_BACKEND) options.dawnBackend = process.env.QKV_DAWN_BACKEND;
  const level = process.env.QKV_FEATURE_LEVEL;
  if (level === 'core' || level === 'compatibility') options.featureLevel = level;
  return options;
}

/** One device per options per test file (module instance). */
export async function gpuFixture(
  options: WebGPUDeviceOptions = { poison: true },
): Promise<GpuFixture> {
  const resolved = { ...adapterFromEnv(), ...options };
  const key = JSON.stringify(resolved);
  let pending = devices.get(key);
  if (!pending) devices.set(key, (pending = createWebGPUDevice(resolved)));
  let device: WebGPUDevice | undefined;
  let reason: Error | undefined;
  try {
    device = await pending;
  } catch (error) {
    reason = error as Error;
  }
  return {
    device,
    error: reason,
    test(name, fn, timeout) {
      if (!device) {
        noGpuTest(name, reason?.message);
        return;
      }
      const d = device;
      it(
        name,
        async () => {
          const buffers = d.liveBuffers();
          const tensors = liveTensors();
          await gpuErrorScope(d)(d, async () => {
            await fn(d);
          });
          expect(liveTensors(), 'live tensors after the test').toBe(tensors);
          expect(d.liveBuffers(), 'live buffers after the test').toBe(buffers);
        },
        timeout,
      );
    },
  };
}
