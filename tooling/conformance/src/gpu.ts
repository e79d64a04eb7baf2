import type { Device } from '@qkv/tensor';
import { describe, it } from 'vitest';
import { type CaseGroup, type ConformanceOptions, describeConformance } from './harness.js';

/** What the WebGPU runner needs from a device: its GPUDevice (for error scopes) and a sync. */
export interface ScopedGpuDevice extends Device {
  readonly gpu: {
    pushErrorScope(filter: 'validation'): void;
    popErrorScope(): Promise<{ message: string } | null>;
  };
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
}

/**
 * Run each case inside a WebGPU `validation` error scope and wait for the GPU, so a
 * validation error fails the case that caused it rather than a later one.
 */
export function gpuErrorScope(device: ScopedGpuDevice): NonNullable<ConformanceOptions['around']> {
  return async (_, run) => {
    device.gpu.pushErrorScope('validation');
    let failure: unknown;
    try {
      await run();
      await device.sync();
    } catch (error) {
      failure = error;
    }
    const scoped = await device.gpu.popErrorScope();
    if (scoped) throw new Error(`WebGPU validation error: ${scoped.message}`, { cause: failure });
    if (failure) throw failure;
  };
}

/**
 * `describeConformance` on a WebGPU device from `makeDevice`, each case in an error scope.
 * Without an adapter the groups fail under `QKV_REQUIRE_GPU=1` (CI) and are skipped, with
 * the reason in the test name, otherwise.
 */
export async function describeGpuConformance(
  makeDevice: () => Promise<ScopedGpuDevice>,
  groups: Record<string, CaseGroup>,
  options: Omit<ConformanceOptions, 'around'> = {},
): Promise<void> {
  let device: ScopedGpuDevice | undefined;
  let reason = '';
  try {
    device = await makeDevice();
  } catch (error) {
    reason = (error as Error).message;
  }
  if (device) {
    const d = device;
    describeConformance('webgpu', () => d, groups, { ...options, around: gpuErrorScope(d) });
    return;
  }
  describe('conformance on webgpu', () => {
    noGpuTest('every group', reason);
  });
}

/**
 * Stand in for the WebGPU tests named `name` when no adapter was found: under
 * `QKV_REQUIRE_GPU=1` (CI) a failing test, otherwise a skip that carries the reason.
 */
export function noGpuTest(name: string, reason: string | undefined): void {
  if (process.env.QKV_REQUIRE_GPU === '1') {
    it(name, () => {
      throw new Error(`QKV_REQUIRE_GPU=1 but no WebGPU device: ${reason}`);
    });
  } else it.skip(`${name} (no WebGPU adapter: ${reason})`, () => {});
}
