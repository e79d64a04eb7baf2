import { type CaseGroup, expectClose } from '@qkv/conformance';
import { causal, slidingWindow } from '@qkv/sparse';
import { Random } from '@qkv/tensor';
import { expect } from 'vitest';
import {
  attentionWeights,
  dropout,
  scaledDotProductAttention,
  weightedValues,
} from '../../src/index.js';

export const sdpaCases: CaseGroup = {};

sdpaCases['dropoutP drops the probabilities with the seeded generator'] = async (ctx) => {
  const q = ctx.random([1, 4, 5, 8]).t;
  const k = ctx.random([1, 2, 7, 8]).t;
  const v = ctx.random([1, 2, 7, 3]).t;
  const options = { isCausal: true, enableGqa: true };
  const dropped = scaledDotProductAttention(q, k, v, {
    ...options,
    dropoutP: 0.3,
    dropoutRandom: new Random(9),
  });
  const again = scaledDotProductAttention(q, k, v, {
    ...options,
    dropoutP: 0.3,
    dropoutRandom: new Random(9),
  });
  const weights = attentionWeights(q, k, options);
  const manualWeights = dropout(weights, 0.3, new Random(9));
  weights.dispose();
  const manual = weightedValues(manualWeights, v);
  manualWeights.dispose();
  const plain = await ctx.read(scaledDotProductAttention(q, k, v, options));
  const got = await ctx.read(dropped);
  expectClose(await ctx.read(again), got, { atol: 0, rtol: 0 }, 'same seed');
  expectClose(await ctx.read(manual), got, { atol: 1e-6, rtol: 1e-5 }, 'dropout then weights · v');
  expect(got.some((x, i) => Math.abs(x - plain[i]!) > 1e-3)).toBe(true);
  expect(() => scaledDotProductAttention(q, k, v, { ...options, dropoutP: 0.3 })).toThrow(
    'scaledDotProductAttention: dropoutP > 0 needs a dropoutRandom (a seeded Random)',
  );
};

sdpaCases['sparseMask visits only the kept blocks and equals the dense mask'] = async (ctx) => {
  // Odd sizes: L = S = 75 over blocks of 16, a causal window of 20 keys, grouped heads.
  const [l, window] = [75, 20];
  const q = ctx.random([2, 4, l, 8]).t;
  const k = ctx.random([2, 2, l, 8]).t;
  const v = ctx.random([2, 2, l, 5]).t;
  const allowed = Array.from({ length: l * l }, (_, f) => {
    const [i, j] = [Math.floor(f / l), f % l];
    return j <= i && i - j < window;
  });
  const dense = scaledDotProductAttention(q, k, v, {
    attnMask: ctx.tensor(allowed, [l, l], 'bool'),
    enableGqa: true,
    scale: 0.3,
  });
  const sparse = scaledDotProductAttention(q, k, v, {
    sparseMask: slidingWindow(window),
    blockSize: 16,
    enableGqa: true,
    scale: 0.3,
  });
  expectClose(await ctx.read(sparse), await ctx.read(dense), { atol: 1e-5, rtol: 1e-4 });
  expect(() =>
    scaledDotProductAttention(q, k, v, { sparseMask: causal(), isCausal: true, enableGqa: true }),
  ).toThrow(
    'scaledDotProductAttention: sparseMask cannot be combined with isCausal (express them as @qkv/sparse mask patterns and scoreMod score modifiers)',
  );
  expect(() => scaledDotProductAttention(q, k, v, { blockSize: 16, enableGqa: true })).toThrow(
    /scoreMod and blockSize apply only with sparseMask/,
  );
};
