import {
  add,
  arange,
  attention,
  attentionWeights,
  cast,
  concat,
  cpu,
  type Device,
  type DType,
  linear,
  loadSafetensors,
  matmul,
  narrow,
  QkvError,
  randn,
  softmax,
  type Tensor,
  tensor,
  toDevice,
  zeros,
} from '@qkv/tensor';
import { describeBadInput, type Row, randomQkv } from './table.js';

/** A safetensors file from a header object and `dataBytes` bytes of data. */
function safetensors(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const f32 = (shape: number[], offsets: [number, number], dtype = 'F32') => ({
  dtype,
  shape,
  data_offsets: offsets,
});

/** q, k, v `[1, 2, 3, E]` on the row's device. */
const qkv = (device: Device, e = 4) => randomQkv(device, [1, 2, 3, e]);

// biome-ignore format: one row per line, so adding a case is adding a line
export const tensorRows: Row[] = [
  // Creation
  ['zeros([1e6, 1e6])', () => zeros([1e6, 1e6]), QkvError, ['zeros', 'shape [1000000, 1000000]', '1000000000000 elements', 'more than']],
  ['zeros(5): shape not an array', () => zeros(5 as never), QkvError, ['zeros', 'shape must be an array', 'number 5']],
  ['randn([2, -1])', () => randn([2, -1]), QkvError, ['randn', 'shape [2, -1]', 'non-negative integer']],
  ['tensor: data and shape disagree', () => tensor([1, 2, 3], [2]), QkvError, ['shape [2] needs 2 elements', 'has 3']],
  ['tensor: unknown dtype', () => tensor([1], [1], { dtype: 'float64' as DType }), QkvError, ['unknown dtype "float64"', 'float32']],
  ['tensor: device is the cpu function', () => tensor([1], [1], { device: cpu as never }), QkvError, ['options.device', 'must be a Device', 'a function (cpu)', 'cpu()']],
  ["tensor: device is the string 'webgpu'", () => tensor([1], [1], { device: 'webgpu' as never }), QkvError, ['options.device', 'must be a Device', 'the string "webgpu"']],
  ['arange: step 0', () => arange(0, 4, 0), QkvError, ['arange', 'step', 'non-zero', 'got 0']],
  ["toDevice(t, 'webgpu')", ({ own }) => toDevice(own(zeros([2])), 'webgpu' as never), QkvError, ['toDevice', 'device must be a Device', 'the string "webgpu"']],
  ['toDevice(array, cpu())', () => toDevice([1, 2] as never, cpu()), QkvError, ['toDevice', 't must be a Tensor', 'an array of 2']],
  // Ops on the wrong kind of value
  ['matmul(array, tensor)', () => matmul([1, 2] as never, zeros([2, 2])), QkvError, ['matmul', 'must be a Tensor', 'an array of 2']],
  ['softmax(undefined)', () => softmax(undefined as never), QkvError, ['softmax', 'must be a Tensor', 'undefined']],
  ['add: shapes do not broadcast', () => add(zeros([2, 3]), zeros([4])), QkvError, ['[2, 3] and [4]', 'cannot be broadcast']],
  ['reshape to a different size', () => zeros([2, 3]).reshape([4]), QkvError, ['[2, 3]', '[4]']],
  ['add: a string operand', () => add(zeros([2]), 'a' as never), QkvError, ['add', 'b must be a Tensor, a number or a boolean', 'the string "a"']],
  ['concat of a string', () => concat('ab' as never, 0), QkvError, ['concat', 'tensors must be an array of Tensors', 'the string "ab"']],
  ['narrow(array)', () => narrow([1] as never, 0, 0, 1), QkvError, ['narrow', 'x must be a Tensor', 'an array of 1']],
  ['linear: weight undefined', () => linear(zeros([2, 2]), undefined as never), QkvError, ['linear', 'weight must be a Tensor', 'undefined']],
  ['cast to an unknown dtype', () => cast(zeros([2]), 'float64' as DType), QkvError, ['unknown dtype "float64"']],
  ['concat of nothing', () => concat([], 0), QkvError, ['concat']],
  // attention / attentionWeights
  ['attention: q is an array', ({ device }) => attention([1, 2] as never, ...(qkv(device).slice(1) as [Tensor, Tensor])), QkvError, ['attention', 'q must be a Tensor', 'an array of 2']],
  ['attention: q is undefined', ({ device }) => attention(undefined as never, ...(qkv(device).slice(1) as [Tensor, Tensor])), QkvError, ['attention', 'q must be a Tensor', 'undefined']],
  ['attention: attnMask is a Uint8Array', ({ device }) => attention(...qkv(device), { attnMask: new Uint8Array(9) as never }), QkvError, ['attention', 'attnMask must be a Tensor', 'a Uint8Array', 'tensor()']],
  ["attention: scale '0.5'", ({ device }) => attention(...qkv(device), { scale: '0.5' as never }), QkvError, ['attention', 'scale must be a finite number', 'the string "0.5"']],
  ['attention: E = 0 and no scale', ({ device }) => attention(...qkv(device, 0)), QkvError, ['attention', 'E = 0', '1/sqrt(E)', 'pass scale']],
  ['attentionWeights: k is a Float32Array', ({ device }) => attentionWeights(qkv(device)[0], new Float32Array(4) as never), QkvError, ['attentionWeights', 'k must be a Tensor', 'a Float32Array']],
  ['attention: kvLength past S', ({ device }) => attention(...qkv(device), { kvLength: 9 }), QkvError, ['kvLength 9', '[0, 3]']],
  // safetensors
  ["loadSafetensors('str')", () => loadSafetensors('str' as never), QkvError, ['loadSafetensors', 'bytes must be a Uint8Array or an ArrayBuffer', 'the string "str"']],
  ['loadSafetensors: dtype "toString"', () => loadSafetensors(safetensors({ w: f32([1], [0, 4], 'toString') }, 4)), QkvError, ['tensor "w"', 'dtype "toString"', 'not supported', 'F32']],
  ['loadSafetensors: overlapping data_offsets', () => loadSafetensors(safetensors({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12)), QkvError, ['tensor "b"', 'data_offsets [4,12]', 'overlap tensor "a"']],
  ['loadSafetensors: a gap between tensors', () => loadSafetensors(safetensors({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12)), QkvError, ['tensor "b"', 'data_offsets [8,12]', 'bytes 4-8 unused']],
  ['loadSafetensors: trailing unused bytes', () => loadSafetensors(safetensors({ a: f32([2], [0, 8]) }, 12)), QkvError, ['ends at byte 8', '12 data bytes', '4 unused bytes']],
  ['loadSafetensors: truncated data', () => loadSafetensors(safetensors({ a: f32([4], [0, 16]) }, 8)), QkvError, ['tensor "a"', 'ends at byte 16', 'only 8 data bytes']],
  ['loadSafetensors: device is a string', () => loadSafetensors(safetensors({}, 0), { device: 'webgpu' as never }), QkvError, ['options.device', 'must be a Device', 'the string "webgpu"']],
];

describeBadInput('@qkv/tensor', tensorRows);
