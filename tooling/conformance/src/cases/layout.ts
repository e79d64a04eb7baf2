import { cast, concat, type DType, gather, narrow, permute, slice, transpose } from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose, expectExact } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import { ravel, size, unravel } from '../reference.js';

export const layoutCases: CaseGroup = {};

layoutCases['permute moves every element'] = async (ctx) => {
  const shape = [2, 3, 5, 7];
  const x = ctx.random(shape);
  for (const perm of [
    [0, 2, 1, 3],
    [3, 2, 1, 0],
    [1, 3, 0, 2],
  ]) {
    const outShape = perm.map((p) => shape[p]!);
    const expected = Array.from({ length: size(outShape) }, (_, flat) => {
      const outIndex = unravel(flat, outShape);
      const inIndex = new Array<number>(4);
      perm.forEach((p, d) => {
        inIndex[p] = outIndex[d]!;
      });
      return x.values[ravel(inIndex, shape)]!;
    });
    const out = permute(x.t, perm);
    expect(out.shape).toEqual(outShape);
    expectExact(await ctx.read(out), expected, `perm ${perm}`);
  }
  const t = transpose(x.t, 1, -1);
  expect(t.shape).toEqual([2, 7, 5, 3]);
  t.dispose();
  expect(() => permute(x.t, [0, 1, 1, 2])).toThrow(/permute: \[0, 1, 1, 2\] is not a permutation/);
};

layoutCases['permute of int32, bool and float16'] = async (ctx) => {
  for (const dtype of ['int32', 'bool', 'float16'] as DType[]) {
    const values = Array.from({ length: 15 }, (_, i) =>
      dtype === 'bool' ? Number(i % 3 === 0) : i - 4,
    );
    const x = ctx.tensor(values, [3, 5], dtype);
    const expected = Array.from({ length: 15 }, (_, flat) =>
      Number(values[(flat % 3) * 5 + Math.floor(flat / 3)]),
    );
    expectExact(await ctx.read(permute(x, [1, 0])), expected, dtype);
  }
};

layoutCases['concat along each axis'] = async (ctx) => {
  const a = ctx.random([2, 3, 4]);
  const b = ctx.random([2, 3, 4]);
  for (let axis = 0; axis < 3; axis++) {
    const bShape = [2, 3, 4].map((d, i) => (i === axis ? 1 : d));
    const c = ctx.random(bShape);
    const outShape = [2, 3, 4].map((d, i) => (i === axis ? 2 * d + 1 : d));
    const expected = Array.from({ length: size(outShape) }, (_, flat) => {
      const index = unravel(flat, outShape);
      const k = index[axis]!;
      const d = [2, 3, 4][axis]!;
      if (k < d) return a.values[ravel(index, [2, 3, 4])]!;
      if (k < 2 * d)
        return b.values[
          ravel(
            index.map((v, i) => (i === axis ? v - d : v)),
            [2, 3, 4],
          )
        ]!;
      return c.values[
        ravel(
          index.map((v, i) => (i === axis ? 0 : v)),
          bShape,
        )
      ]!;
    });
    const out = concat([a.t, b.t, c.t], axis - 3);
    expect(out.shape).toEqual(outShape);
    expectExact(await ctx.read(out), expected, `axis ${axis}`);
  }
  expect(() => concat([a.t, ctx.random([2, 4, 4]).t], 2)).toThrow(
    /concat: tensors\[1\] \[2, 4, 4\] float32 does not match tensors\[0\]/,
  );
};

layoutCases['concat with an empty input'] = async (ctx) => {
  const a = ctx.random([2, 3]);
  const empty = ctx.tensor([], [2, 0]);
  expectExact(await ctx.read(concat([empty, a.t, empty], 1)), a.values);
};

layoutCases['slice with steps, negatives and clamping'] = async (ctx) => {
  const shape = [5, 9, 4];
  const x = ctx.random(shape);
  const out = slice(x.t, [
    [1, -1],
    [0, 100, 3],
    [-2, 4],
  ]);
  expect(out.shape).toEqual([3, 3, 2]);
  const expected = Array.from({ length: 18 }, (_, flat) => {
    const [i, j, k] = unravel(flat, [3, 3, 2]) as [number, number, number];
    return x.values[ravel([1 + i, 3 * j, 2 + k], shape)]!;
  });
  expectExact(await ctx.read(out), expected);
  const cut = narrow(x.t, 1, 2, 5);
  expect(cut.shape).toEqual([5, 5, 4]);
  cut.dispose();
  const none = slice(x.t, [[3, 2]]);
  expect(none.shape).toEqual([0, 9, 4]);
  none.dispose();
  expect(() => narrow(x.t, 1, 6, 5)).toThrow(/narrow: \[6, 6 \+ 5\) is outside dimension 1/);
  expect(() => slice(x.t, [[0, 2, 0]])).toThrow(/slice: step must be a positive integer/);
};

layoutCases['gather rows, columns and with negative indices'] = async (ctx) => {
  const table = ctx.random([6, 5]);
  const ids = ctx.tensor([5, 0, -1, 2, 2, 3], [2, 3], 'int32');
  const rows = gather(table.t, ids, 0);
  expect(rows.shape).toEqual([2, 3, 5]);
  const rowIds = [5, 0, 5, 2, 2, 3];
  expectExact(
    await ctx.read(rows),
    rowIds.flatMap((r) => table.values.slice(r * 5, r * 5 + 5)),
  );
  const colIds = ctx.tensor([4, 0], [2], 'int32');
  const cols = gather(table.t, colIds, 1);
  expect(cols.shape).toEqual([6, 2]);
  expectExact(
    await ctx.read(cols),
    Array.from({ length: 12 }, (_, i) => table.values[Math.floor(i / 2) * 5 + (i % 2 ? 0 : 4)]!),
  );
  const floats = ctx.tensor([1], [1]);
  expect(() => gather(table.t, floats)).toThrow(/gather: indices must have dtype int32 or uint32/);
};

layoutCases['cast between every pair of dtypes'] = async (ctx) => {
  const values = [0, 1.75, -2.5, 3, -0.0, 70000.5];
  const source = ctx.tensor(values, [6]);
  const expectedFrom: Record<DType, number[]> = {
    float32: values.map(Math.fround),
    float16: [0, 1.75, -2.5, 3, -0, Number.POSITIVE_INFINITY],
    int32: [0, 1, -2, 3, 0, 70000],
    uint32: [0, 1, 0, 3, 0, 70000],
    bool: [0, 1, 1, 1, 0, 1],
  };
  for (const dtype of Object.keys(expectedFrom) as DType[]) {
    const out = cast(source, dtype);
    expect(out.dtype).toBe(dtype);
    expectClose(
      await ctx.read(out),
      expectedFrom[dtype],
      { atol: 0, rtol: 0 },
      `float32 -> ${dtype}`,
    );
  }
  const flags = ctx.tensor([true, false, true], [3], 'bool');
  for (const dtype of ['float32', 'float16', 'int32', 'uint32'] as DType[]) {
    expectExact(await ctx.read(cast(flags, dtype)), [1, 0, 1], `bool -> ${dtype}`);
  }
  const ints = ctx.tensor([-3, 0, 2147483647], [3], 'int32');
  expectExact(await ctx.read(cast(ints, 'float32')), [-3, 0, 2147483648], 'int32 -> float32');
  expectExact(await ctx.read(cast(ints, 'bool')), [1, 0, 1], 'int32 -> bool');
};

layoutCases['cast of NaN and out-of-range floats saturates'] = async (ctx) => {
  const x = ctx.tensor([Number.NaN, 3e9, -3e9, Number.POSITIVE_INFINITY], [4]);
  expectExact(await ctx.read(cast(x, 'int32')), [0, 2147483647, -2147483648, 2147483647]);
};
