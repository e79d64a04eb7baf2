import { ALL_GROUPS, describeConformance } from '@qkv/conformance';
import { describe } from 'vitest';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

const device = gpu.device;
if (device) {
  describeConformance('webgpu', () => device, ALL_GROUPS, {
    // SwiftShader is slow; the CPU run covers the properties with more samples.
    propertyRuns: 5,
    async around(_, run) {
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
    },
  });
} else {
  describe('conformance on webgpu', () => {
    gpu.test('needs a WebGPU adapter', () => {});
  });
}
