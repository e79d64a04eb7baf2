import { ALL_GROUPS, describeConformance } from '@qkv/conformance';
import { describe } from 'vitest';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

/** Cases that need kernels this backend does not have yet, each with the reason. */
const exclude: Record<string, string> = {};
for (const name of Object.keys(ALL_GROUPS.attention ?? {})) {
  if (name.startsWith('attention') || name.includes('masked') || name.includes('float16')) {
    exclude[`attention/${name}`] = 'the fused attention kernels for WebGPU are not written yet';
  }
}

const device = gpu.device;
if (device) {
  describeConformance('webgpu', () => device, ALL_GROUPS, {
    exclude,
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
