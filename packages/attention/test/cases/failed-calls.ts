// A call that throws changes nothing: the cache keeps its length, capacity and contents, the
// module its parameters, and the device holds as many tensors and buffers as before.
import type { CaseContext, CaseGroup } from '@qkv/conformance';
import { slidingWindow } from '@qkv/sparse';
import { liveTensors, narrow, type Tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import { KVCache, MultiHeadAttention } from '../../src/index.js';

interface CacheState {
  length: number;
  capacity: number;
  keys: number[];
  values: number[];
}

async function cacheState(ctx: CaseContext, cache: KVCache): Promise<CacheState> {
  const valid = (t: Tensor) => ctx.read(narrow(t, 2, 0, cache.length));
  return {
    length: cache.length,
    capacity: cache.capacity,
    keys: await valid(cache.keys),
    values: await valid(cache.values),
  };
}

async function parameterState(
  ctx: CaseContext,
  mha: MultiHeadAttention,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(mha.stateDict())) out[name] = await ctx.read(t);
  return out;
}

/**
 * Run each bad call (its inputs made beforehand): it must throw an error matching its pattern
 * and leave the live tensor and device buffer counts, and whatever `state` reads, as they were.
 */
async function expectUnchanged<S>(
  ctx: CaseContext,
  state: () => Promise<S>,
  badCalls: [string, () => unknown, RegExp][],
): Promise<void> {
  const before = await state();
  for (const [name, call, error] of badCalls) {
    const tensors = liveTensors();
    const buffers = ctx.device.liveBuffers();
    expect(call, name).toThrow(error);
    expect(liveTensors(), `live tensors after ${name}`).toBe(tensors);
    expect(ctx.device.liveBuffers(), `live device buffers after ${name}`).toBe(buffers);
    expect(await state(), `state after ${name}`).toEqual(before);
  }
}

export const failedCallCases: CaseGroup = {};

failedCallCases['KVCache: a rejected append keeps length, capacity and contents'] = async (ctx) => {
  const cache = new KVCache({
    batch: 2,
    numKvHeads: 2,
    headDim: 3,
    capacity: 4,
    device: ctx.device,
  });
  try {
    cache.append(ctx.random([2, 2, 3, 3]).t, ctx.random([2, 2, 3, 3]).t);
    // Five new positions would grow the storage (3 + 5 > 4): the checks come first.
    const k = ctx.random([2, 2, 5, 3]).t;
    const wide = ctx.random([2, 2, 5, 4]).t;
    const oneHead = ctx.random([2, 1, 5, 3]).t;
    const ints = ctx.random([2, 2, 5, 3], { dtype: 'int32', low: -5, high: 5 }).t;
    await expectUnchanged(ctx, () => cacheState(ctx, cache), [
      ['wrong head size', () => cache.append(k, wide), /v \[2, 2, 5, 3\]/],
      ['wrong heads', () => cache.append(oneHead, k), /kv heads/],
      [
        'wrong dtype',
        () => cache.append(k, ints),
        /k and v must be float32, got float32 and int32/,
      ],
      ['crop past the end', () => cache.crop(4), /length must be an integer in \[0, 3\], got 4/],
    ]);
  } finally {
    cache.dispose();
  }
  const tensors = liveTensors();
  const buffers = ctx.device.liveBuffers();
  expect(
    () => new KVCache({ batch: 1, numKvHeads: 1, headDim: 2, writeMode: 'sideways' as 'copy' }),
  ).toThrow(`KVCache: options.writeMode must be 'in-place' or 'copy', got the string "sideways"`);
  if (ctx.device.backend !== 'cpu') {
    expect(
      () =>
        new KVCache({
          batch: 1,
          numKvHeads: 1,
          headDim: 2,
          writeMode: 'in-place',
          device: ctx.device,
        }),
    ).toThrow(/options.writeMode 'in-place' writes into host-visible memory/);
  }
  expect([liveTensors(), ctx.device.liveBuffers()]).toEqual([tensors, buffers]);
};

failedCallCases['MultiHeadAttention.forward: a rejected call leaves the cache as it was'] = async (
  ctx,
) => {
  const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: ctx.device, seed: 4 });
  const cache = mha.createCache(1, 4);
  try {
    const x = ctx.random([1, 3, 8]).t;
    mha.forward(x, x, x, { cache, isCausal: true, needWeights: false }).output.dispose();
    const mask = (shape: number[], dtype: 'bool' | 'int32' | 'float32' = 'bool') =>
      ctx.tensor(
        Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => 0),
        shape,
        dtype,
      );
    const other = new KVCache({ batch: 1, numKvHeads: 2, headDim: 5, device: ctx.device });
    const [padding, intMask, squareMask] = [
      mask([1, 5]),
      mask([3, 6], 'int32'),
      mask([3, 3], 'float32'),
    ];
    const narrowKey = ctx.random([1, 3, 5]).t;
    try {
      await expectUnchanged(ctx, () => cacheState(ctx, cache), [
        [
          // The cache would hold 6 keys after the append; the mask covers 5.
          'padding mask of the wrong length',
          () => mha.forward(x, x, x, { cache, keyPaddingMask: padding }),
          /keyPaddingMask \[1, 5\] bool must be \[1, 6\]/,
        ],
        [
          'int32 attention mask',
          () => mha.forward(x, x, x, { cache, attnMask: intMask }),
          /MultiHeadAttention.forward: attnMask must be bool \(true = masked out\) or float \(added to the scores\), got \[3, 6\] int32/,
        ],
        [
          'attention mask of the wrong shape',
          () => mha.forward(x, x, x, { cache, attnMask: squareMask }),
          /attnMask \[3, 3\] float32 must be \[3, 6\] or \[2, 3, 6\]/,
        ],
        [
          'a cache for another module',
          () => mha.forward(x, x, x, { cache: other }),
          /cache must hold batch 1, 2 kv heads, head size 4, float32 on .*; it holds batch 1, 2 kv heads, head size 5/,
        ],
        [
          'sparse mask beside a cache',
          () => mha.forward(x, x, x, { cache, sparseMask: slidingWindow(2), needWeights: false }),
          /sparseMask cannot be combined with cache/,
        ],
        [
          'query that is not a tensor',
          () => mha.forward([1, 2] as unknown as Tensor, x, x, { cache }),
          /query must be a Tensor, got an array/,
        ],
        [
          'value left out',
          () => mha.forward(x, x, undefined as unknown as Tensor, { cache }),
          /value must be a Tensor, got undefined/,
        ],
        [
          'key of the wrong width',
          () => mha.forward(x, narrowKey, x, { cache }),
          /must end in embedDim 8, kdim 8 and vdim 8/,
        ],
      ]);
    } finally {
      other.dispose();
    }
    // The cache still decodes: the next good call appends after the first three positions.
    const y = ctx.random([1, 1, 8]).t;
    mha.forward(y, y, y, { cache, isCausal: true, needWeights: false }).output.dispose();
    expect(cache.length).toBe(4);
  } finally {
    mha.dispose();
    cache.dispose();
  }
};

failedCallCases['MultiHeadAttention.loadStateDict: a rejected load keeps every parameter'] = async (
  ctx,
) => {
  const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: ctx.device, seed: 6 });
  try {
    const good = () => ({
      in_proj_weight: ctx.random([24, 8]).t,
      in_proj_bias: ctx.random([24]).t,
      'out_proj.weight': ctx.random([8, 8]).t,
      'out_proj.bias': ctx.random([8]).t,
    });
    const misshapen = { ...good(), 'out_proj.bias': ctx.random([7]).t };
    const integer = {
      ...good(),
      'out_proj.weight': ctx.random([8, 8], { dtype: 'int32', low: -3, high: 3 }).t,
    };
    const typedArray = { ...good(), 'out_proj.bias': new Float32Array(8) as unknown as Tensor };
    await expectUnchanged(ctx, () => parameterState(ctx, mha), [
      [
        'last entry misshapen',
        () => mha.loadStateDict(misshapen),
        /out_proj.bias is \[7\], expected \[8\]/,
      ],
      [
        'an integer entry',
        () => mha.loadStateDict(integer),
        /out_proj.weight is int32, expected a float dtype/,
      ],
      [
        'a typed array instead of a tensor',
        () => mha.loadStateDict(typedArray),
        /out_proj.bias is a Float32Array, expected a Tensor/,
      ],
    ]);
  } finally {
    mha.dispose();
  }
};
