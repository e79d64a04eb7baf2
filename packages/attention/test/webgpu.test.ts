import { describeGpuConformance } from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import { ATTENTION_GROUPS } from './groups.js';

// The same groups the CPU runs, on WebGPU (SwiftShader without a GPU), outputs poisoned.
await describeGpuConformance(() => createWebGPUDevice({ poison: true }), ATTENTION_GROUPS, {
  propertyRuns: 5,
});
