import { layerNorm, rmsNorm, roundToFloat16 } from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseGroup } from '../harness.js';

/** Normalise consecutive rows of `width` values in float64. */
function refNorm(
  values: number[],
  width: number,
  kind: 'layer' | 'rms',
  eps: number,
  weight?: number[],
  bias?: number[],
): number[] {
  const out: number[] = [];
  for (let start = 0; start < values.length; start += width) {
    const row = values.slice(start, start + width);
    const mean = kind === 'layer' ? row.reduce((p, v) => p + v, 0) / width : 0;
    const variance = row.reduce((p, v) => p + (v - mean) ** 2, 0) / width;
    row.forEach((v, j) => {
      out.push(((v - mean) / Math.sqrt(variance + eps)) * (weight?.[j] ?? 1) + (bias?.[j] ?? 0));
    });
  }
  return out;
}

export const normCases: CaseGroup = {};

normCases['layerNorm over the last dimension, with and without affine'] = async (ctx) => {
  const x = ctx.random([3, 4, 37], { low: -3, high: 5 });
  const w = ctx.random([37]);
  const b = ctx.random([37]);
  expectClose(await ctx.read(layerNorm(x.t)), refNorm(x.values, 37, 'layer', 1e-5), {
    atol: 1e-5,
    rtol: 1e-4,
  });
  const out = layerNorm(x.t, { weight: w.t, bias: b.t, eps: 1e-6 });
  expectClose(await ctx.read(out), refNorm(x.values, 37, 'layer', 1e-6, w.values, b.values), {
    atol: 1e-5,
    rtol: 1e-4,
  });
};

normCases['layerNorm over two trailing dimensions'] = async (ctx) => {
  const x = ctx.random([2, 3, 5]);
  const w = ctx.random([3, 5]);
  const out = layerNorm(x.t, { weight: w.t, normalizedDims: 2 });
  expectClose(await ctx.read(out), refNorm(x.values, 15, 'layer', 1e-5, w.values), {
    atol: 1e-5,
    rtol: 1e-4,
  });
  expect(() => layerNorm(x.t, { weight: w.t })).toThrow(/layerNorm: weight must have shape \[5\]/);
};

normCases['rmsNorm with weight, float32 and float16'] = async (ctx) => {
  for (const dtype of ['float32', 'float16'] as const) {
    const x = ctx.random([5, 300], { dtype, low: -2, high: 2 });
    const w = ctx.random([300], { dtype });
    const eps = dtype === 'float16' ? 2 ** -10 : 2 ** -23;
    const ref = refNorm(x.values, 300, 'rms', eps, w.values).map((v) =>
      dtype === 'float16' ? roundToFloat16(v) : v,
    );
    expectClose(
      await ctx.read(rmsNorm(x.t, { weight: w.t })),
      ref,
      dtype === 'float16' ? ctx.tol(dtype) : { atol: 1e-5, rtol: 1e-4 },
      dtype,
    );
  }
};

normCases['norms of a constant row do not divide by zero'] = async (ctx) => {
  const x = ctx.tensor([2, 2, 2, 2], [1, 4]);
  expectClose(await ctx.read(layerNorm(x)), [0, 0, 0, 0], ctx.tol('float32'));
};
