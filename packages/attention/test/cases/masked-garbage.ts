import { type CaseContext, type CaseGroup, expectClose } from '@qkv/conformance';
import { causal, keyPadding } from '@qkv/sparse';
import { scope, type Tensor } from '@qkv/tensor';
import { MultiHeadAttention, scaledDotProductAttention } from '../../src/index.js';

/**
 * Padding in a real batch is often garbage: NaN or ±Infinity at a masked key must give the
 * answer finite values there give, on every path of the public API (fused attention, the
 * materialised weights behind `needWeights`, the block-sparse kernels behind `sparseMask`).
 */

const F32 = { atol: 2e-6, rtol: 2e-5 };
const GARBAGE: [string, number][] = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
];

/** `values` (rows of `width` in `[B, T, width]`) with `bad` where `hidden(b, t)`. */
function poisonRows(
  ctx: CaseContext,
  values: readonly number[],
  shape: [number, number, number],
  hidden: (b: number, t: number) => boolean,
  bad: number,
): Tensor {
  const [, t, width] = shape;
  const data = values.map((x, idx) => {
    const row = Math.floor(idx / width);
    return hidden(Math.floor(row / t), row % t) ? bad : x;
  });
  return ctx.tensor(data, shape);
}

export const maskedGarbageCases: CaseGroup = {};

for (const [name, bad] of GARBAGE) {
  for (const needWeights of [false, true]) {
    maskedGarbageCases[
      `MultiHeadAttention: ${name} at padded keys changes nothing (needWeights: ${needWeights})`
    ] = async (ctx) => {
      const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: ctx.device, seed: 5 });
      try {
        const [n, l, s] = [2, 3, 6];
        const lengths = [4, 6];
        const padded = (b: number, t: number) => t >= lengths[b]!;
        const padding = ctx.tensor(
          Array.from({ length: n * s }, (_, i) => padded(Math.floor(i / s), i % s)),
          [n, s],
          'bool',
        );
        const q = ctx.random([n, l, 8]).t;
        const kv = ctx.random([n, s, 8]);
        const dirty = poisonRows(ctx, kv.values, [n, s, 8], padded, bad);
        const run = (x: Tensor) => {
          const { output, weights } = mha.forward(q, x, x, {
            keyPaddingMask: padding,
            needWeights,
          });
          weights?.dispose();
          return output;
        };
        const expected = await ctx.read(run(kv.t));
        expectClose(await ctx.read(run(dirty)), expected, F32, name);
      } finally {
        mha.dispose();
      }
    };
  }

  maskedGarbageCases[`scaledDotProductAttention: ${name} in a masked value`] = async (ctx) => {
    // The reported case: key 1 masked out, its value row all garbage.
    const q = ctx.random([1, 1, 1, 4]).t;
    const k = ctx.random([1, 1, 2, 4]).t;
    const v = ctx.random([1, 1, 2, 4]);
    const dirty = ctx.tensor([...v.values.slice(0, 4), bad, bad, bad, bad], [1, 1, 2, 4]);
    const mask = ctx.tensor([true, false], [1, 2], 'bool');
    const out = await ctx.read(scaledDotProductAttention(q, k, dirty, { attnMask: mask }));
    expectClose(out, v.values.slice(0, 4), F32, name);
  };

  for (const [pattern, sparseMask, hidden] of [
    ['causal', causal(), (_b: number, t: number) => t === 70],
    ['keyPadding', keyPadding([50, 71]), (b: number, t: number) => t >= [50, 71][b]!],
  ] as const) {
    maskedGarbageCases[`sparseMask ${pattern}: ${name} at masked keys`] = async (ctx) => {
      // 71 keys in blocks of 16: partial blocks, garbage in the last one.
      const shape: [number, number, number] = [2, 71, 4];
      const q = ctx.random([2, 1, 71, 4]).t;
      const k = ctx.random(shape);
      const v = ctx.random(shape);
      const as4 = (t: Tensor) => t.reshape([2, 1, 71, 4]);
      const run = (kt: Tensor, vt: Tensor) =>
        scope(() => scaledDotProductAttention(q, as4(kt), as4(vt), { sparseMask, blockSize: 16 }));
      const expected = await ctx.read(run(k.t, v.t));
      const out = await ctx.read(
        run(
          poisonRows(ctx, k.values, shape, hidden, bad),
          poisonRows(ctx, v.values, shape, hidden, bad),
        ),
      );
      // Under the causal pattern the last query row sees key 70: only earlier rows compare.
      const rows = pattern === 'causal' ? (i: number) => Math.floor(i / 4) % 71 !== 70 : () => true;
      expectClose(
        out.filter((_, i) => rows(i)),
        expected.filter((_, i) => rows(i)),
        F32,
        name,
      );
    };
  }
}
