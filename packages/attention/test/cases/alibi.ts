// One ALiBi convention across packages: FlashAttention's −slope · |i + offset − j| (offset
// S − L bottom-right, 0 top-left). The attention op's `alibiSlopes`, @qkv/positional's
// `alibiBias` added as a bias and @qkv/sparse's `alibi` score modifier give the same
// attention, with and without a causal mask.
import { type CaseContext, type CaseGroup, expectClose } from '@qkv/conformance';
import { alibiBias, alibiSlopes } from '@qkv/positional';
import { alibi, causal, fullMask } from '@qkv/sparse';
import { type Tensor, tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import { type SdpaOptions, scaledDotProductAttention } from '../../src/index.js';

const F32 = { atol: 2e-6, rtol: 1e-5 };
/** Three heads: a head count that is not a power of two (slopes 2^-4, 2^-8, 2^-2). */
const H = 3;

function inputs(ctx: CaseContext, l: number, s: number): [Tensor, Tensor, Tensor] {
  // Scores of a few units, so the distance penalty (up to 0.25 · 6) moves the softmax a lot.
  const range = { low: -2, high: 2 };
  return [
    ctx.random([1, H, l, 5], range).t,
    ctx.random([1, H, s, 5], range).t,
    ctx.random([1, H, s, 3], range).t,
  ];
}

async function attend(
  ctx: CaseContext,
  [q, k, v]: [Tensor, Tensor, Tensor],
  options: SdpaOptions,
): Promise<number[]> {
  return ctx.read(scaledDotProductAttention(q, k, v, options));
}

function slopes(ctx: CaseContext): Tensor {
  return ctx.tensor(Array.from(alibiSlopes(H)), [H]);
}

export const alibiCases: CaseGroup = {};

alibiCases['bidirectional: alibiSlopes, alibiBias and the sparse alibi agree'] = async (ctx) => {
  for (const [l, s] of [
    [6, 6],
    [5, 7],
  ] as const) {
    const qkv = inputs(ctx, l, s);
    const op = await attend(ctx, qkv, { alibiSlopes: slopes(ctx) });
    const bias = alibiBias(H, l, s, { queryOffset: 0, device: ctx.device });
    expectClose(await attend(ctx, qkv, { bias }), op, F32, `alibiBias top-left, L ${l} S ${s}`);
    bias.dispose();
    const sparse = await attend(ctx, qkv, { sparseMask: fullMask(), scoreMod: alibi(H) });
    expectClose(sparse, op, F32, `sparse alibi, L ${l} S ${s}`);
    // The penalty is there: without it the attention differs.
    const plain = await attend(ctx, qkv, {});
    expect(plain.some((x, i) => Math.abs(x - op[i]!) > 1e-2)).toBe(true);
  }
};

alibiCases['causal: the same three, and the paper’s slope · (j − i)'] = async (ctx) => {
  const l = 6;
  const qkv = inputs(ctx, l, l);
  const op = await attend(ctx, qkv, { alibiSlopes: slopes(ctx), isCausal: true });
  const bias = alibiBias(H, l, l, { device: ctx.device });
  expectClose(await attend(ctx, qkv, { bias, isCausal: true }), op, F32, 'alibiBias');
  bias.dispose();
  const sparse = await attend(ctx, qkv, { sparseMask: causal(), scoreMod: alibi(H) });
  expectClose(sparse, op, F32, 'sparse alibi');
  // Press et al. 2022 add m · (j − i), which equals −m · |i − j| wherever a causal mask lets
  // a key through (j ≤ i).
  const m = alibiSlopes(H);
  const paper = Array.from({ length: H * l * l }, (_, f) => {
    const [h, i, j] = [Math.floor(f / (l * l)), Math.floor(f / l) % l, f % l];
    return m[h]! * (j - i);
  });
  const paperBias = tensor(paper, [1, H, l, l], { device: ctx.device });
  expectClose(await attend(ctx, qkv, { bias: paperBias, isCausal: true }), op, F32, 'paper');
  paperBias.dispose();
};

alibiCases['decoding: bottom-right alignment of alibiSlopes and alibiBias agree'] = async (ctx) => {
  const [l, s] = [2, 7];
  const qkv = inputs(ctx, l, s);
  const aligned = { isCausal: true, causalAlignment: 'bottom-right' } as const;
  const op = await attend(ctx, qkv, { ...aligned, alibiSlopes: slopes(ctx) });
  // alibiBias aligns the queries with the last keys by default.
  const bias = alibiBias(H, l, s, { device: ctx.device });
  expectClose(await attend(ctx, qkv, { ...aligned, bias }), op, F32, 'alibiBias');
  bias.dispose();
};
