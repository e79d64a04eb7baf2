import { ALL_GROUPS, describeGpuConformance } from '@qkv/conformance';
import { gpuFixture } from './testing/gpu-fixture.js';

await describeGpuConformance(
  async () => {
    const { device, error } = await gpuFixture();
    if (!device) throw error ?? new Error('no WebGPU adapter');
    return device;
  },
  ALL_GROUPS,
  // SwiftShader is slow; the CPU run covers the properties with more samples.
  { propertyRuns: 5 },
);
