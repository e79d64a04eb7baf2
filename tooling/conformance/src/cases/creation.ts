import {
  arange,
  cpu,
  full,
  ones,
  rand,
  randn,
  roundToFloat16,
  scope,
  tensor,
  toDevice,
  zeros,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose, expectExact } from '../compare.js';
import type { CaseGroup } from '../harness.js';

export const creationCases: CaseGroup = {};

creationCases['tensor round-trips every dtype'] = async (ctx) => {
  const device = ctx.device;
  expectExact(await ctx.read(tensor([1.5, -2, 3e-8], [3], { device })), [
    1.5,
    -2,
    Math.fround(3e-8),
  ]);
  expectExact(await ctx.read(tensor([1.0001, 65519, 1e-8], [3], { dtype: 'float16', device })), [
    1,
    65504,
    roundToFloat16(1e-8),
  ]);
  expectExact(await ctx.read(tensor([-(2 ** 31), 7], [2], { dtype: 'int32', device })), [
    -(2 ** 31),
    7,
  ]);
  expectExact(await ctx.read(tensor([2 ** 32 - 1, 0], [2], { dtype: 'uint32', device })), [
    2 ** 32 - 1,
    0,
  ]);
  expectExact(await ctx.read(tensor([true, false, true], [3], { device })), [1, 0, 1]);
  expectExact(
    await ctx.read(tensor(new Uint8Array([0, 1, 1, 0]), [2, 2], { device })),
    [0, 1, 1, 0],
  );
  const odd = tensor(new Float32Array([1, 2, 3, 4, 5]), [5], { dtype: 'float16', device });
  expect(odd.dtype).toBe('float16');
  expectExact(await ctx.read(odd), [1, 2, 3, 4, 5]);
};

creationCases['creation validates data and shape'] = () => {
  expect(() => tensor([1, 2, 3], [2, 2])).toThrow(
    /tensor: shape \[2, 2\] needs 4 elements but the data has 3/,
  );
  expect(() => tensor([1.5], [1], { dtype: 'int32' })).toThrow(
    /tensor: element 0 \(1.5\) is not a int32 value/,
  );
  expect(() => tensor([1], [-1])).toThrow(/not a non-negative integer/);
  expect(() => tensor([1], [1], { dtype: 'float64' as never })).toThrow(/unknown dtype "float64"/);
};

creationCases['zeros, ones, full and arange'] = async (ctx) => {
  const device = ctx.device;
  expectExact(await ctx.read(zeros([2, 3], { device })), [0, 0, 0, 0, 0, 0]);
  expectExact(await ctx.read(ones([3], { dtype: 'int32', device })), [1, 1, 1]);
  expectExact(await ctx.read(full([2], Number.NEGATIVE_INFINITY, { device })), [
    -Infinity,
    -Infinity,
  ]);
  expectExact(await ctx.read(full([2], true, { device })), [1, 1]);
  const r = arange(5, undefined, undefined, { device });
  expect(r.dtype).toBe('int32');
  expectExact(await ctx.read(r), [0, 1, 2, 3, 4]);
  expectClose(
    await ctx.read(arange(0, 1, 0.25, { device })),
    [0, 0.25, 0.5, 0.75],
    ctx.tol('float32'),
  );
  expectExact(await ctx.read(arange(5, 0, -2, { device })), [5, 3, 1]);
  const empty = arange(3, 3, 1, { device });
  expect(empty.shape).toEqual([0]);
  empty.dispose();
};

creationCases['seeded random numbers are the same on every device'] = async (ctx) => {
  const onDevice = await ctx.read(randn([4, 33], { seed: 42, device: ctx.device }));
  const onCpu = scope(() => randn([4, 33], { seed: 42, device: cpu() }).dataSync());
  expectExact(onDevice, Array.from(onCpu));
  const u = await ctx.read(rand([1000], { seed: 7, low: 2, high: 3, device: ctx.device }));
  expect(Math.min(...u)).toBeGreaterThanOrEqual(2);
  expect(Math.max(...u)).toBeLessThan(3);
  const n = await ctx.read(randn([4000], { seed: 3, device: ctx.device }));
  const mean = n.reduce((p, v) => p + v, 0) / n.length;
  const variance = n.reduce((p, v) => p + (v - mean) ** 2, 0) / n.length;
  expect(Math.abs(mean)).toBeLessThan(0.06);
  expect(Math.abs(variance - 1)).toBeLessThan(0.08);
  const other = await ctx.read(randn([4, 33], { seed: 43, device: ctx.device }));
  expect(other).not.toEqual(onDevice);
};

creationCases['toDevice copies across devices'] = async (ctx) => {
  const x = ctx.random([3, 7], { dtype: 'float16' });
  const there = await toDevice(x.t, cpu());
  const back = await toDevice(there, ctx.device);
  there.dispose();
  expect(back.device).toBe(ctx.device);
  expectExact(await ctx.read(back), x.values);
};
