import {
  KVCache,
  MultiHeadAttention,
  scaledDotProductAttention,
  weightedValues,
} from '@qkv/attention';
import { cpu, type Device, QkvError, randn, type Tensor, zeros } from '@qkv/tensor';
import { describeBadInput, describeGpuBadInput, type Row, randomQkv } from './table.js';

/** q, k, v `[1, 2, 3, 4]` on the row's device. */
const qkv = (device: Device) => randomQkv(device, [1, 2, 3, 4]);
const kv = (device: Device) => qkv(device).slice(1) as [Tensor, Tensor];

/** A module on the row's device (disposed after the row) and x `[1, 3, 8]`. */
const mha = ({
  device,
  own,
}: {
  device: Device;
  own: <T extends { dispose(): void }>(x: T) => T;
}) => ({
  m: own(new MultiHeadAttention({ embedDim: 8, numHeads: 2, device })),
  x: randn([1, 3, 8], { device }),
});

// biome-ignore format: one row per line, so adding a case is adding a line
export const attentionRows: Row[] = [
  // scaledDotProductAttention
  ['sdpa: q is an array', ({ device }) => scaledDotProductAttention([1, 2] as never, ...kv(device)), QkvError, ['scaledDotProductAttention', 'q must be a Tensor', 'an array of 2']],
  ['sdpa: q is undefined', ({ device }) => scaledDotProductAttention(undefined as never, ...kv(device)), QkvError, ['scaledDotProductAttention', 'q must be a Tensor', 'undefined']],
  ['sdpa: attnMask is a Uint8Array', ({ device }) => scaledDotProductAttention(...qkv(device), { attnMask: new Uint8Array(9) as never }), QkvError, ['attnMask must be a Tensor', 'a Uint8Array']],
  ['sdpa: int32 attnMask', ({ device }) => scaledDotProductAttention(...qkv(device), { attnMask: zeros([3, 3], { dtype: 'int32', device }) }), QkvError, ['scaledDotProductAttention', 'attnMask must be bool', 'float', '[3, 3] int32']],
  ["sdpa: scale '0.5'", ({ device }) => scaledDotProductAttention(...qkv(device), { scale: '0.5' as never }), QkvError, ['scaledDotProductAttention', 'scale must be a finite number', 'the string "0.5"']],
  ['sdpa: E = 0 and no scale', ({ device }) => scaledDotProductAttention(randn([1, 1, 2, 0], { device }), randn([1, 1, 2, 0], { device }), randn([1, 1, 2, 3], { device })), QkvError, ['E = 0', 'default scale 1/sqrt(E)', 'pass scale']],
  ['sdpa: sparseMask {}', ({ device }) => scaledDotProductAttention(...qkv(device), { sparseMask: {} as never }), QkvError, ['sparseMask must be a @qkv/sparse mask', 'an object']],
  ['sdpa: dropoutP 2', ({ device }) => scaledDotProductAttention(...qkv(device), { dropoutP: 2 }), QkvError, ['dropoutP must be a number in [0, 1)', 'the number 2']],
  ['sdpa: options is a string', ({ device }) => scaledDotProductAttention(...qkv(device), 'causal' as never), QkvError, ['options must be an object', 'the string "causal"']],
  ['weightedValues: weights is an array', ({ device }) => weightedValues([1] as never, qkv(device)[2]), QkvError, ['weightedValues', 'weights must be a Tensor', 'an array of 1']],
  // MultiHeadAttention
  ['new MultiHeadAttention() with no options', () => new MultiHeadAttention(undefined as never), QkvError, ['MultiHeadAttention', 'options must be an object', 'embedDim', 'undefined']],
  ['MultiHeadAttention: device is the cpu function', () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: cpu as never }), QkvError, ['options.device must be a Device', 'a function (cpu)', 'cpu()']],
  ["MultiHeadAttention: device 'webgpu'", () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: 'webgpu' as never }), QkvError, ['options.device must be a Device', 'the string "webgpu"']],
  ["MultiHeadAttention: embedDim '8'", () => new MultiHeadAttention({ embedDim: '8' as never, numHeads: 2 }), QkvError, ['options.embedDim must be a positive integer', 'the string "8"']],
  ['MultiHeadAttention: numHeads does not divide embedDim', () => new MultiHeadAttention({ embedDim: 8, numHeads: 3 }), QkvError, ['embedDim 8', 'divisible by numHeads 3']],
  ['forward: query is an array', (ctx) => { const { m, x } = mha(ctx); return m.forward([1] as never, x, x); }, QkvError, ['MultiHeadAttention.forward', 'query must be a Tensor', 'an array of 1']],
  ['forward: int32 attnMask', (ctx) => { const { m, x } = mha(ctx); return m.forward(x, x, x, { attnMask: zeros([3, 3], { dtype: 'int32', device: ctx.device }) }); }, QkvError, ['MultiHeadAttention.forward', 'attnMask must be bool', '[3, 3] int32']],
  ['forward: uint32 keyPaddingMask', (ctx) => { const { m, x } = mha(ctx); return m.forward(x, x, x, { keyPaddingMask: zeros([1, 3], { dtype: 'uint32', device: ctx.device }) }); }, QkvError, ['MultiHeadAttention.forward', 'keyPaddingMask must be bool', '[1, 3] uint32']],
  ['forward: attnMask is a Uint8Array', (ctx) => { const { m, x } = mha(ctx); return m.forward(x, x, x, { attnMask: new Uint8Array(9) as never }); }, QkvError, ['attnMask must be a Tensor', 'a Uint8Array']],
  ['forward: keyPaddingMask of the wrong shape', (ctx) => { const { m, x } = mha(ctx); return m.forward(x, x, x, { keyPaddingMask: zeros([1, 5], { dtype: 'bool', device: ctx.device }) }); }, QkvError, ['keyPaddingMask [1, 5] bool', 'must be [1, 3]']],
  ['loadStateDict: a Float32Array value', (ctx) => mha(ctx).m.loadStateDict({ 'out_proj.bias': new Float32Array(8) } as never), QkvError, ['loadStateDict', 'out_proj.bias is a Float32Array', 'expected a Tensor']],
  // KVCache
  ['new KVCache() with no options', () => new KVCache(undefined as never), QkvError, ['KVCache', 'options must be an object', 'undefined']],
  ["KVCache: writeMode 'sideways'", ({ device }) => new KVCache({ batch: 1, numKvHeads: 1, headDim: 4, device, writeMode: 'sideways' as never }), QkvError, ['KVCache', "options.writeMode must be 'in-place' or 'copy'", 'the string "sideways"']],
  ['KVCache: headDim 0', ({ device }) => new KVCache({ batch: 1, numKvHeads: 1, headDim: 0, device }), QkvError, ['headDim must be a positive integer', 'got 0']],
  ['KVCache.append: wrong shape', ({ device, own }) => own(new KVCache({ batch: 1, numKvHeads: 1, headDim: 4, device })).append(randn([1, 1, 2, 3], { device }), randn([1, 1, 2, 4], { device })), QkvError, ['KVCache.append', 'expected k [1, 1, 2, 4]', 'got k [1, 1, 2, 3]']],
];

/** Rows only a WebGPU device can give. */
// biome-ignore format: one row per line, so adding a case is adding a line
export const webgpuAttentionRows: Row[] = [
  ["KVCache on WebGPU: writeMode 'in-place'", ({ device }) => new KVCache({ batch: 1, numKvHeads: 1, headDim: 4, device, writeMode: 'in-place' }), QkvError, ['KVCache', "writeMode 'in-place'", 'only the cpu device', "needs 'copy'"]],
  ['sdpa: q on WebGPU, k and v on the CPU', ({ device }) => scaledDotProductAttention(randn([1, 2, 3, 4], { device }), ...kv(cpu())), QkvError, ['different devices', 'webgpu', 'cpu', 'toDevice()']],
];

describeBadInput('@qkv/attention', attentionRows);
await describeGpuBadInput('@qkv/attention', [...attentionRows, ...webgpuAttentionRows]);
