import { setAttentionPath } from '@qkv/kernels';
import { attention, QkvError, randn, toDevice, zeros } from '@qkv/tensor';
import { describeBadInput, describeGpuBadInput, type Row } from './table.js';
import { tensorRows } from './tensor.test.js';

// biome-ignore format: one row per line, so adding a case is adding a line
export const kernelsRows: Row[] = [
  ["setAttentionPath('sideways')", () => setAttentionPath('sideways' as never), QkvError, ['setAttentionPath', "path must be 'auto', 'fused' or 'decode'", 'the string "sideways"']],
];

/** Rows on a WebGPU device: the WebGPU backend's ops get the same checks as the CPU's. */
// biome-ignore format: one row per line, so adding a case is adding a line
export const webgpuKernelsRows: Row[] = [
  ["toDevice(gpu tensor, 'webgpu')", ({ device, own }) => toDevice(own(zeros([2], { device })), 'webgpu' as never), QkvError, ['toDevice', 'device must be a Device', 'the string "webgpu"']],
  ['attention on WebGPU: int32 q', ({ device }) => attention(zeros([1, 3, 4], { dtype: 'int32', device }), randn([1, 3, 4], { device }), randn([1, 3, 4], { device })), QkvError, ['attention', 'q must be float32 or float16', 'int32']],
];

describeBadInput('@qkv/kernels', kernelsRows);
// The @qkv/tensor table again, with its tensors on WebGPU.
await describeGpuBadInput('@qkv/kernels', [...webgpuKernelsRows, ...tensorRows]);
