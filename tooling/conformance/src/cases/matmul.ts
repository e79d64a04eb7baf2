import { linear, matmul, roundToFloat16 } from '@qkv/tensor';
import fc from 'fast-check';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import { mapBroadcast, refMatmul } from '../reference.js';

/** [a shape, b shape, transposeA, transposeB]: tiny, odd, skinny (M = 1), batched, broadcast. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[1, 1], [1, 1], false, false],
  [[7, 13], [13, 5], false, false],
  [[1, 67], [67, 33], false, false],
  [[33, 65], [65, 17], false, false],
  [[130, 9], [9, 131], false, false],
  [[2, 3, 19, 11], [2, 3, 11, 7], false, false],
  [[3, 1, 5, 6], [4, 6, 9], false, false],
  [[11, 7], [11, 9], true, false],
  [[2, 9, 17], [2, 10, 17], false, true],
  [[5, 12, 3], [5, 6, 12], true, true],
];

export const matmulCases: CaseGroup = {};

for (const [aShape, bShape, transposeA, transposeB] of CASES) {
  const name = `${JSON.stringify(aShape)}${transposeA ? 'ᵀ' : ''} x ${JSON.stringify(bShape)}${transposeB ? 'ᵀ' : ''}`;
  matmulCases[name] = async (ctx) => {
    const a = ctx.random(aShape);
    const b = ctx.random(bShape);
    const ref = refMatmul(a.values, aShape, b.values, bShape, transposeA, transposeB);
    const out = matmul(a.t, b.t, { transposeA, transposeB });
    expect(out.shape).toEqual(ref.shape);
    // Sums of K products: allow the float32 error to grow with K.
    const k = transposeA ? aShape.at(-2)! : aShape.at(-1)!;
    expectClose(await ctx.read(out), ref.data, { atol: 1e-6 * Math.sqrt(k), rtol: 1e-5 });
  };
}

matmulCases['float16 operands'] = async (ctx) => {
  const a = ctx.random([9, 21], { dtype: 'float16' });
  const b = ctx.random([21, 10], { dtype: 'float16' });
  const ref = refMatmul(a.values, [9, 21], b.values, [21, 10]);
  const out = matmul(a.t, b.t);
  expect(out.dtype).toBe('float16');
  expectClose(await ctx.read(out), ref.data.map(roundToFloat16), ctx.tol('float16'));
};

matmulCases['vectors follow torch.matmul'] = async (ctx) => {
  const v = ctx.random([6]);
  const m = ctx.random([6, 4]);
  const w = ctx.random([3, 6]);
  const vm = matmul(v.t, m.t);
  expect(vm.shape).toEqual([4]);
  expectClose(
    await ctx.read(vm),
    refMatmul(v.values, [1, 6], m.values, [6, 4]).data,
    ctx.tol('float32'),
  );
  const wv = matmul(w.t, v.t);
  expect(wv.shape).toEqual([3]);
  expectClose(
    await ctx.read(wv),
    refMatmul(w.values, [3, 6], v.values, [6, 1]).data,
    ctx.tol('float32'),
  );
  const dot = matmul(v.t, v.t);
  expect(dot.shape).toEqual([]);
  expectClose(await ctx.read(dot), [v.values.reduce((p, x) => p + x * x, 0)], ctx.tol('float32'));
};

matmulCases['linear is x·Wᵀ + b'] = async (ctx) => {
  const x = ctx.random([2, 3, 10]);
  const w = ctx.random([7, 10]);
  const b = ctx.random([7]);
  const product = refMatmul(x.values, [6, 10], w.values, [7, 10], false, true);
  const ref = mapBroadcast(
    [
      { data: product.data, shape: [6, 7] },
      { data: b.values, shape: [7] },
    ],
    (p, q) => p + q,
  );
  const out = linear(x.t, w.t, b.t);
  expect(out.shape).toEqual([2, 3, 7]);
  expectClose(await ctx.read(out), ref.data, ctx.tol('float32'));
  expect(() => linear(x.t, b.t)).toThrow(/linear: weight must be \[out, in\]/);
};

matmulCases['matmul rejects mismatched inner dimensions'] = (ctx) => {
  const a = ctx.random([3, 4]).t;
  const b = ctx.random([5, 6]).t;
  expect(() => matmul(a, b)).toThrow(
    /matmul: inner dimensions differ: a \[3, 4\] float32 has 4, b \[5, 6\] float32 has 5/,
  );
  const c = ctx.random([2, 4, 5]).t;
  const d = ctx.random([3, 5, 2]).t;
  expect(() => matmul(c, d)).toThrow(
    /matmul \(batch dimensions\): shapes \[2\] and \[3\] cannot be broadcast/,
  );
};

matmulCases['property: random shapes match float64'] = async (ctx) => {
  const dim = fc.integer({ min: 1, max: 40 });
  await fc.assert(
    fc.asyncProperty(
      dim,
      dim,
      dim,
      fc.boolean(),
      fc.boolean(),
      fc.integer(),
      async (m, k, n, ta, tb, seed) => {
        const aShape = ta ? [k, m] : [m, k];
        const bShape = tb ? [n, k] : [k, n];
        const a = ctx.random(aShape, { seed });
        const b = ctx.random(bShape, { seed: seed ^ 0x55 });
        const ref = refMatmul(a.values, aShape, b.values, bShape, ta, tb);
        const out = matmul(a.t, b.t, { transposeA: ta, transposeB: tb });
        expectClose(await ctx.read(out), ref.data, { atol: 1e-5, rtol: 1e-5 });
      },
    ),
    { numRuns: ctx.propertyRuns },
  );
};
