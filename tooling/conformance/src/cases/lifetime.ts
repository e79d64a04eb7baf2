import {
  add,
  type Device,
  exp,
  keep,
  liveTensors,
  matmul,
  QkvError,
  scope,
  type TypedArray,
  tensor,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectExact } from '../compare.js';
import type { CaseGroup } from '../harness.js';

export const lifetimeCases: CaseGroup = {};

lifetimeCases['reshape shares storage and costs no buffer'] = async (ctx) => {
  const x = ctx.random([2, 6]);
  const buffers = ctx.device.liveBuffers();
  const y = x.t.reshape([3, -1]);
  expect(y.shape).toEqual([3, 4]);
  expect(ctx.device.liveBuffers()).toBe(buffers);
  x.t.dispose();
  // The view keeps the storage alive after the original is gone.
  expectExact(await ctx.read(y), x.values);
  expect(() => x.t.reshape([5, 5])).toThrow(QkvError);
};

lifetimeCases['scope disposes intermediates and keeps what it returns'] = async (ctx) => {
  const x = ctx.random([4, 4]);
  const before = liveTensors();
  const buffers = ctx.device.liveBuffers();
  let kept: ReturnType<typeof add> | undefined;
  const { result } = scope(() => {
    const a = exp(x.t);
    const b = matmul(a, a);
    kept = keep(add(b, 1));
    return { result: add(b, a) };
  });
  expect(liveTensors()).toBe(before + 2);
  expect(ctx.device.liveBuffers()).toBe(buffers + 2);
  result.dispose();
  kept!.dispose();
  expect(() => scope(() => Promise.resolve(1))).toThrow(/scope\(\) takes a synchronous function/);
};

lifetimeCases['scope disposes everything when the function throws'] = (ctx) => {
  const x = ctx.random([3]).t;
  const before = liveTensors();
  expect(() =>
    scope(() => {
      exp(exp(x));
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(liveTensors()).toBe(before);
  expect(x.isDisposed).toBe(false);
};

lifetimeCases['disposed tensors cannot be used'] = async (ctx) => {
  const x = ctx.random([3]).t;
  x.dispose();
  x.dispose();
  expect(x.isDisposed).toBe(true);
  await expect(x.data()).rejects.toThrow(/data: tensor \[3\] float32 was disposed/);
  expect(() => exp(x)).toThrow(/exp: input x \[3\] was disposed/);
};

lifetimeCases['ops reject tensors from two devices, naming both'] = (ctx) => {
  // A second device whose storage is host memory: enough for the check, whatever the backend.
  const standIn: Device = {
    backend: 'stand-in',
    name: 'stand-in device',
    upload: (data) => data,
    read: async (storage) => (storage as TypedArray).slice(),
    release() {},
    liveBuffers: () => 0,
  };
  const here = ctx.random([2]).t;
  const there = tensor([1, 2], [2], { device: standIn });
  const name = ctx.device.name.replace(/[()]/g, '.');
  expect(() => add(here, there)).toThrow(
    new RegExp(`add: inputs are on different devices: a on ${name}, b on stand-in device`),
  );
  expect(() => matmul(there, ctx.random([2, 1]).t)).toThrow(
    /matmul: inputs are on different devices: a on stand-in device/,
  );
  there.dispose();
};
