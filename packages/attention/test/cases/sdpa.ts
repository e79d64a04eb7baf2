import { type CaseGroup, expectClose } from '@qkv/conformance';
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
