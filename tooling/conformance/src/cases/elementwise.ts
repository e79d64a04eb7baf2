import {
  BINARY_OPS,
  type BinaryOpName,
  binary,
  type DType,
  maskedFill,
  QkvError,
  roundToFloat16,
  UNARY_OPS,
  type UnaryOpName,
  unary,
  where,
} from '@qkv/tensor';
import fc from 'fast-check';
import { expect } from 'vitest';
import { expectClose, expectExact } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import { mapBroadcast, refErf } from '../reference.js';

/** Each unary op's definition in float64, and the input range it is tested on. */
const UNARY_REFERENCE: Record<
  UnaryOpName,
  { f: (x: number) => number; low: number; high: number }
> = {
  neg: { f: (x) => -x, low: -4, high: 4 },
  abs: { f: Math.abs, low: -4, high: 4 },
  exp: { f: Math.exp, low: -8, high: 8 },
  log: { f: Math.log, low: 0.01, high: 50 },
  sqrt: { f: Math.sqrt, low: 0, high: 50 },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), low: 0.05, high: 50 },
  sin: { f: Math.sin, low: -6, high: 6 },
  cos: { f: Math.cos, low: -6, high: 6 },
  tanh: { f: Math.tanh, low: -5, high: 5 },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), low: -10, high: 10 },
  relu: { f: (x) => Math.max(x, 0), low: -3, high: 3 },
  gelu: { f: (x) => (x / 2) * (1 + refErf(x / Math.SQRT2)), low: -5, high: 5 },
  geluTanh: {
    f: (x) => (x / 2) * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    low: -5,
    high: 5,
  },
  silu: { f: (x) => x / (1 + Math.exp(-x)), low: -8, high: 8 },
  logicalNot: { f: (x) => (x ? 0 : 1), low: 0, high: 2 },
};

const BINARY_REFERENCE: Record<BinaryOpName, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: Math.max,
  minimum: Math.min,
  equal: (a, b) => +(a === b),
  notEqual: (a, b) => +(a !== b),
  less: (a, b) => +(a < b),
  lessEqual: (a, b) => +(a <= b),
  greater: (a, b) => +(a > b),
  greaterEqual: (a, b) => +(a >= b),
  logicalAnd: (a, b) => +(a !== 0 && b !== 0),
  logicalOr: (a, b) => +(a !== 0 || b !== 0),
};

const COMPARISON = new Set<BinaryOpName>([
  'equal',
  'notEqual',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
]);

export const elementwiseCases: CaseGroup = {};

for (const name of UNARY_OPS) {
  const { f, low, high } = UNARY_REFERENCE[name];
  const dtypes: DType[] = name === 'logicalNot' ? ['bool'] : ['float32', 'float16'];
  for (const dtype of dtypes) {
    elementwiseCases[`${name} ${dtype} [3, 37]`] = async (ctx) => {
      const x =
        dtype === 'bool'
          ? (() => {
              const v = Array.from({ length: 111 }, (_, i) => (i * 7) % 3 === 0);
              return { t: ctx.tensor(v, [3, 37], 'bool'), values: v.map(Number) };
            })()
          : ctx.random([3, 37], { dtype, low, high });
      const expected = x.values.map((v) => (dtype === 'float16' ? roundToFloat16(f(v)) : f(v)));
      const out = unary(name, x.t);
      expect(out.dtype).toBe(dtype);
      expectClose(await ctx.read(out), expected, ctx.tol(dtype), name);
    };
  }
}

for (const name of ['neg', 'abs', 'relu'] as const) {
  elementwiseCases[`${name} int32`] = async (ctx) => {
    const x = ctx.random([29], { dtype: 'int32', low: -100, high: 100 });
    expectExact(await ctx.read(unary(name, x.t)), x.values.map(UNARY_REFERENCE[name].f), name);
  };
}

elementwiseCases['unary ops reject the wrong dtype'] = (ctx) => {
  const ints = ctx.tensor([1, 2], [2], 'int32');
  expect(() => unary('exp', ints)).toThrow(/exp: x must be float32 or float16, got \[2\] int32/);
  expect(() => unary('logicalNot', ints)).toThrow(QkvError);
};

/** Shapes that broadcast in every way: equal, trailing 1s, leading missing, both sides. */
const BROADCAST_PAIRS: [number[], number[]][] = [
  [
    [5, 7],
    [5, 7],
  ],
  [
    [3, 1, 5],
    [4, 1],
  ],
  [[1], [2, 3]],
  [
    [2, 3, 1],
    [1, 1, 9],
  ],
  [[], [4]],
];

for (const name of BINARY_OPS) {
  const logical = name === 'logicalAnd' || name === 'logicalOr';
  const dtype: DType = logical ? 'bool' : 'float32';
  elementwiseCases[`${name} with broadcasting`] = async (ctx) => {
    for (const [aShape, bShape] of BROADCAST_PAIRS) {
      const positive = name === 'pow' || name === 'div';
      const make = (shape: number[]) =>
        logical
          ? (() => {
              const n = shape.reduce((p, d) => p * d, 1);
              const v = Array.from({ length: n }, (_, i) => (i * 5 + shape.length) % 3 === 0);
              return { t: ctx.tensor(v, shape, 'bool'), values: v.map(Number) };
            })()
          : ctx.random(shape, { low: positive ? 0.5 : -3, high: 3 });
      const a = make(aShape);
      const b = make(bShape);
      // Comparisons need ties to be meaningful: compare a against itself rounded.
      const expected = mapBroadcast(
        [
          { data: a.values, shape: aShape },
          { data: b.values, shape: bShape },
        ],
        BINARY_REFERENCE[name],
      );
      const out = binary(name, a.t, b.t);
      expect(out.shape).toEqual(expected.shape);
      expect(out.dtype).toBe(COMPARISON.has(name) ? 'bool' : dtype);
      const label = `${name} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`;
      if (COMPARISON.has(name) || logical) expectExact(await ctx.read(out), expected.data, label);
      else expectClose(await ctx.read(out), expected.data, ctx.tol('float32'), label);
    }
  };
}

elementwiseCases['comparisons see ties'] = async (ctx) => {
  const a = ctx.tensor([1, 2, 3, 4], [4]);
  const b = ctx.tensor([1, 3, 3, 0], [4]);
  expectExact(await ctx.read(binary('equal', a, b)), [1, 0, 1, 0]);
  expectExact(await ctx.read(binary('lessEqual', a, b)), [1, 1, 1, 0]);
  expectExact(await ctx.read(binary('greater', a, b)), [0, 0, 0, 1]);
};

elementwiseCases['integer arithmetic wraps at 32 bits'] = async (ctx) => {
  const a = ctx.tensor([2147483647, -7, 65536], [3], 'int32');
  const b = ctx.tensor([1, 3, 65536], [3], 'int32');
  expectExact(await ctx.read(binary('add', a, b)), [-2147483648, -4, 131072]);
  expectExact(await ctx.read(binary('mul', a, b)), [2147483647, -21, 0]);
};

elementwiseCases['scalars take the tensor dtype and device'] = async (ctx) => {
  const x = ctx.random([6], { dtype: 'float16' });
  const out = binary('mul', x.t, 3);
  expect(out.dtype).toBe('float16');
  expect(out.device).toBe(ctx.device);
  expectClose(
    await ctx.read(out),
    x.values.map((v) => roundToFloat16(v * 3)),
    ctx.tol('float16'),
  );
  const ints = ctx.tensor([1, 2], [2], 'int32');
  expect(() => binary('add', ints, 0.5)).toThrow(/add: scalar 0.5 does not fit dtype int32/);
};

elementwiseCases['NaN propagates'] = async (ctx) => {
  const a = ctx.tensor([Number.NaN, 1, Number.NaN], [3]);
  const b = ctx.tensor([1, Number.NaN, 2], [3]);
  expectClose(
    await ctx.read(binary('add', a, b)),
    [Number.NaN, Number.NaN, Number.NaN],
    ctx.tol('float32'),
  );
  expectClose(
    await ctx.read(binary('maximum', a, b)),
    [Number.NaN, Number.NaN, Number.NaN],
    ctx.tol('float32'),
  );
  expectExact(await ctx.read(binary('equal', a, a)), [0, 1, 0]);
};

elementwiseCases['binary ops reject mismatched dtypes and shapes'] = (ctx) => {
  const f = ctx.tensor([1, 2, 3], [3]);
  const i = ctx.tensor([1, 2, 3], [3], 'int32');
  const g = ctx.tensor([1, 2], [2]);
  expect(() => binary('add', f, i)).toThrow(/add: dtypes differ: a \[3\] float32 vs b \[3\] int32/);
  expect(() => binary('add', f, g)).toThrow(/add: shapes \[3\] and \[2\] cannot be broadcast/);
  expect(() => binary('div', i, i)).toThrow(/div: a must be float32 or float16/);
  const bools = ctx.tensor([true], [1], 'bool');
  expect(() => binary('add', bools, bools)).toThrow(/arithmetic on bool/);
};

elementwiseCases['where and maskedFill broadcast the condition'] = async (ctx) => {
  const cond = ctx.tensor([true, false, true], [3, 1], 'bool');
  const a = ctx.random([3, 4]);
  const b = ctx.random([4]);
  const out = where(cond, a.t, b.t);
  const expected = mapBroadcast(
    [
      { data: [1, 0, 1], shape: [3, 1] },
      { data: a.values, shape: [3, 4] },
      { data: b.values, shape: [4] },
    ],
    (c, x, y) => (c ? x : y),
  );
  expectClose(await ctx.read(out), expected.data, ctx.tol('float32'));
  const filled = maskedFill(a.t, cond, Number.NEGATIVE_INFINITY);
  const expectedFill = a.values.map((v, i) =>
    Math.floor(i / 4) === 1 ? v : Number.NEGATIVE_INFINITY,
  );
  expectClose(await ctx.read(filled), expectedFill, ctx.tol('float32'));
  expect(() => maskedFill(b.t, cond, 0)).toThrow(
    /maskedFill: mask \[3, 1\] bool must broadcast to x \[4\]/,
  );
};

elementwiseCases['property: add and mul match float64 over random broadcast shapes'] = async (
  ctx,
) => {
  const dim = fc.integer({ min: 1, max: 5 });
  const shapes = fc.tuple(
    fc.array(dim, { minLength: 0, maxLength: 3 }),
    fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  );
  await fc.assert(
    fc.asyncProperty(
      shapes,
      fc.integer({ min: 1, max: 1_000_000 }),
      async ([shape, ones], seed) => {
        // b keeps a's trailing shape but with some dimensions set to 1, so they broadcast.
        const bShape = shape.map((d, i) => (ones[i] ? 1 : d));
        const a = ctx.random(shape, { seed });
        const b = ctx.random(bShape, { seed: seed + 1 });
        for (const name of ['add', 'mul'] as const) {
          const ref = mapBroadcast(
            [
              { data: a.values, shape },
              { data: b.values, shape: bShape },
            ],
            BINARY_REFERENCE[name],
          );
          expectClose(await ctx.read(binary(name, a.t, b.t)), ref.data, ctx.tol('float32'), name);
        }
      },
    ),
    { numRuns: ctx.propertyRuns },
  );
};
