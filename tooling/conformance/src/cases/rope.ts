import { type DType, rope, roundToFloat16 } from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { refRope, ropeRowPositions } from '../reference.js';

const theta = (rotary: number) =>
  Array.from({ length: rotary / 2 }, (_, i) => Math.fround(10000 ** ((-2 * i) / rotary)));

async function check(
  ctx: CaseContext,
  shape: number[],
  positions: { values: number[]; shape: number[] },
  options: { style: 'half' | 'interleaved'; rotaryDim: number; attentionScaling?: number },
  dtype: DType = 'float32',
) {
  const x = ctx.random(shape, { dtype, low: -2, high: 2 });
  const ids = ctx.tensor(positions.values, positions.shape, 'int32');
  const freqs = theta(options.rotaryDim);
  const inv = ctx.tensor(freqs, [freqs.length]);
  const dim = shape[shape.length - 1]!;
  const positionOf = ropeRowPositions(shape, positions.values, positions.shape.length === 2);
  let ref = refRope(x.values, dim, freqs, options.style, options.attentionScaling ?? 1, positionOf);
  if (dtype === 'float16') ref = ref.map(roundToFloat16);
  const tol = dtype === 'float16' ? { atol: 2e-3, rtol: 2e-3 } : { atol: 4e-6, rtol: 2e-5 };
  expectClose(await ctx.read(rope(x.t, ids, inv, options)), ref, tol);
}

export const ropeCases: CaseGroup = {};

ropeCases['half and interleaved over [B, H, S, D]'] = async (ctx) => {
  const positions = { values: [0, 1, 2, 3, 4, 5, 6], shape: [7] };
  for (const style of ['half', 'interleaved'] as const) {
    await check(ctx, [2, 3, 7, 16], positions, { style, rotaryDim: 16 });
  }
};

ropeCases['partial rotary dim copies the tail'] = async (ctx) => {
  const positions = { values: [3, 9, 27, 81, 243], shape: [5] };
  await check(ctx, [5, 10], positions, { style: 'half', rotaryDim: 6 });
  await check(ctx, [2, 5, 10], positions, { style: 'interleaved', rotaryDim: 4 });
};

ropeCases['per-batch positions, large and negative ids, attention scaling'] = async (ctx) => {
  const values = [0, 17, 4095, 30000, -5, 12345, 8, 9, 65000, -3000, 1, 2];
  await check(
    ctx,
    [2, 3, 6, 8],
    { values, shape: [2, 6] },
    {
      style: 'half',
      rotaryDim: 8,
      attentionScaling: 1.25,
    },
  );
};

ropeCases['float16 in and out'] = async (ctx) => {
  const positions = { values: [0, 100, 2000, 7], shape: [4] };
  await check(ctx, [3, 4, 12], positions, { style: 'interleaved', rotaryDim: 12 }, 'float16');
};

ropeCases['bad rotaryDim and positions are clear errors'] = async (ctx) => {
  const x = ctx.random([4, 8]);
  const inv = ctx.tensor(theta(8), [4]);
  const ids = ctx.tensor([0, 1, 2, 3], [4], 'int32');
  expect(() => rope(x.t, ids, inv, { rotaryDim: 7 })).toThrow(/rope: rotaryDim must be an even/);
  const short = ctx.tensor([0, 1, 2], [3], 'int32');
  expect(() => rope(x.t, short, inv)).toThrow(/rope: positions must be \[4\]/);
};
