// @qkv/kernels: the WebGPU backend of qkv — device acquisition, the runtime (buffer pool,
// command batching, pipeline cache) and a WGSL kernel for every op of @qkv/tensor.

export { createWebGPUDevice, type WebGPUDeviceOptions } from './create-device.js';
export {
  type AttentionPath,
  attentionPath,
  DECODE_MAX_QUERIES,
  setAttentionPath,
} from './kernels/attention.js';
export { BINARY_WGSL, UNARY_WGSL } from './kernels/elementwise.js';
export { registerWebGPUKernels } from './kernels/register-all.js';
export { pipelineCount } from './runtime/pipeline-cache.js';
export { type Dispatch, GpuStorage, WebGPUDevice } from './runtime/webgpu-device.js';
