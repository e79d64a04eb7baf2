import {
  argmax,
  type DType,
  logSoftmax,
  logsumexp,
  max,
  mean,
  min,
  REDUCE_OPS,
  type ReduceOpName,
  reduce,
  roundToFloat16,
  softmax,
  sum,
} from '@qkv/tensor';
import fc from 'fast-check';
import { expect } from 'vitest';
import { expectClose, expectExact } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import { alongAxis, refSoftmax } from '../reference.js';

const ROW_REFERENCE: Record<ReduceOpName, (row: number[]) => number> = {
  sum: (r) => r.reduce((p, v) => p + v, 0),
  mean: (r) => r.reduce((p, v) => p + v, 0) / r.length,
  max: (r) => Math.max(...r),
  min: (r) => Math.min(...r),
  logsumexp: (r) => {
    const m = Math.max(...r);
    return m + Math.log(r.reduce((p, v) => p + Math.exp(v - m), 0));
  },
  argmax: (r) => r.indexOf(Math.max(...r)),
};

const round = (dtype: DType) => (v: number) => (dtype === 'float16' ? roundToFloat16(v) : v);

export const reduceCases: CaseGroup = {};

for (const name of REDUCE_OPS) {
  for (const dtype of ['float32', 'float16'] as const) {
    reduceCases[`${name} ${dtype} over every axis of [3, 5, 70]`] = async (ctx) => {
      const shape = [3, 5, 70];
      const x = ctx.random(shape, { dtype, low: -4, high: 4 });
      for (let axis = 0; axis < 3; axis++) {
        for (const keepDim of [false, true]) {
          const ref = alongAxis(x.values, shape, axis, ROW_REFERENCE[name]);
          const out = reduce(name, x.t, axis - (keepDim ? 3 : 0), keepDim);
          expect(out.shape).toEqual(
            keepDim ? shape.map((d, i) => (i === axis ? 1 : d)) : ref.shape,
          );
          const label = `${name} axis ${axis}`;
          if (name === 'argmax') {
            expect(out.dtype).toBe('int32');
            expectExact(await ctx.read(out), ref.data, label);
          } else {
            expectClose(await ctx.read(out), ref.data.map(round(dtype)), ctx.tol(dtype), label);
          }
        }
      }
    };
  }
}

reduceCases['reductions over all elements'] = async (ctx) => {
  const x = ctx.random([4, 33]);
  const all = ROW_REFERENCE;
  expectClose(await ctx.read(sum(x.t)), [all.sum(x.values)], ctx.tol('float32'));
  expectClose(await ctx.read(mean(x.t)), [all.mean(x.values)], ctx.tol('float32'));
  expectClose(await ctx.read(max(x.t)), [all.max(x.values)], ctx.tol('float32'));
  expectClose(await ctx.read(logsumexp(x.t)), [all.logsumexp(x.values)], ctx.tol('float32'));
  const kept = min(x.t, undefined, true);
  expect(kept.shape).toEqual([1, 1]);
  expectClose(await ctx.read(kept), [all.min(x.values)], ctx.tol('float32'));
};

reduceCases['long sums stay accurate'] = async (ctx) => {
  // 1 + 2^-20 repeated: a float32 running sum drops the 2^-20 parts once it passes 16 (a
  // relative error near 1e-6); float64 or pairwise accumulation stays within float32 rounding.
  const n = 4099;
  const x = ctx.tensor(new Array(n).fill(1 + 2 ** -20), [n]);
  expectClose(await ctx.read(sum(x)), [n * (1 + 2 ** -20)], { atol: 0, rtol: 2e-7 });
};

reduceCases['integer sums, max and argmax'] = async (ctx) => {
  const x = ctx.tensor([3, -1, 7, 7, 2, 0], [2, 3], 'int32');
  expectExact(await ctx.read(sum(x, 1)), [9, 9]);
  expectExact(await ctx.read(max(x, 0)), [7, 2, 7]);
  expectExact(await ctx.read(argmax(x, 1)), [2, 0]);
};

reduceCases['argmax takes the first maximum and NaN wins'] = async (ctx) => {
  const x = ctx.tensor([1, 5, 5, 2, Number.NaN, 3, 9, Number.NaN], [2, 4]);
  expectExact(await ctx.read(argmax(x, 1)), [1, 0]);
  expectClose(await ctx.read(max(x, 1)), [5, Number.NaN], ctx.tol('float32'));
};

reduceCases['empty axes follow PyTorch'] = async (ctx) => {
  const x = ctx.tensor([], [2, 0]);
  expectClose(await ctx.read(sum(x, 1)), [0, 0], ctx.tol('float32'));
  expectClose(await ctx.read(mean(x, 1)), [Number.NaN, Number.NaN], ctx.tol('float32'));
  expectClose(await ctx.read(logsumexp(x, 1)), [-Infinity, -Infinity], ctx.tol('float32'));
  expect(() => max(x, 1)).toThrow(/max: cannot take max over axis 1 of length 0/);
  const none = sum(x, 0);
  expect(none.shape).toEqual([0]);
  none.dispose();
};

reduceCases['reductions reject bad axes and dtypes'] = (ctx) => {
  const x = ctx.tensor([1, 2, 3, 4], [2, 2]);
  expect(() => sum(x, 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
  const ints = ctx.tensor([1, 2], [2], 'int32');
  expect(() => mean(ints)).toThrow(/mean: x must be float32 or float16/);
};

for (const dtype of ['float32', 'float16'] as const) {
  reduceCases[`softmax and logSoftmax ${dtype} over each axis`] = async (ctx) => {
    const shape = [2, 67, 5];
    const x = ctx.random(shape, { dtype, low: -6, high: 6 });
    for (let axis = 0; axis < 3; axis++) {
      const ref = alongAxis(x.values, shape, axis, refSoftmax);
      expectClose(
        await ctx.read(softmax(x.t, axis)),
        ref.data.map(round(dtype)),
        ctx.tol(dtype),
        `softmax axis ${axis}`,
      );
      const refLog = alongAxis(x.values, shape, axis, (row) => refSoftmax(row).map(Math.log));
      expectClose(
        await ctx.read(logSoftmax(x.t, axis)),
        refLog.data.map(round(dtype)),
        ctx.tol(dtype),
        `logSoftmax axis ${axis}`,
      );
    }
  };
}

reduceCases['softmax of a fully masked row is zeros, not NaN'] = async (ctx) => {
  const ninf = Number.NEGATIVE_INFINITY;
  const x = ctx.tensor([ninf, ninf, ninf, 0, ninf, 1], [2, 3]);
  const e = Math.exp(1);
  expectClose(
    await ctx.read(softmax(x)),
    [0, 0, 0, 1 / (1 + e), 0, e / (1 + e)],
    ctx.tol('float32'),
  );
  expectClose(
    await ctx.read(logSoftmax(x)),
    [ninf, ninf, ninf, -Math.log(1 + e), ninf, 1 - Math.log(1 + e)],
    ctx.tol('float32'),
  );
};

reduceCases['softmax is stable for large inputs'] = async (ctx) => {
  const x = ctx.tensor([1000, 1001, 1002, -1000], [4]);
  expectClose(
    await ctx.read(softmax(x)),
    refSoftmax([1000, 1001, 1002, -1000]),
    ctx.tol('float32'),
  );
};

reduceCases['property: softmax rows sum to one'] = async (ctx) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer(),
      async (rows, cols, seed) => {
        const x = ctx.random([rows, cols], { seed, low: -20, high: 20 });
        const p = softmax(x.t);
        const s = await ctx.read(sum(p, 1));
        p.dispose();
        expectClose(s, new Array(rows).fill(1), { atol: 1e-5, rtol: 0 });
      },
    ),
    { numRuns: ctx.propertyRuns },
  );
};
