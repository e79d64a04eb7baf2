import { type CaseGroup, expectClose } from '@qkv/conformance';
import type { Tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import {
  attentionWeights,
  MultiHeadAttention,
  scaledDotProductAttention,
} from '../../src/index.js';
import { FIXTURE_TOLERANCE, load, type MhaFixture, torchFixtures } from '../fixtures.js';

export const torchFixtureCases: CaseGroup = {};

for (const f of torchFixtures.sdpa) {
  torchFixtureCases[`SDPA ${f.name} matches PyTorch ${torchFixtures.torch}`] = async (ctx) => {
    const options = {
      ...(f.mask ? { attnMask: load(ctx, f.mask) } : {}),
      isCausal: f.options.is_causal ?? false,
      causalAlignment: f.options.alignment ?? 'top-left',
      enableGqa: f.options.enable_gqa ?? false,
      ...(f.options.scale !== undefined ? { scale: f.options.scale } : {}),
    };
    const [q, k, v] = [load(ctx, f.q), load(ctx, f.k), load(ctx, f.v)];
    const out = scaledDotProductAttention(q, k, v, options);
    expect(out.shape).toEqual(f.output.shape);
    expectClose(await ctx.read(out), f.output.data, FIXTURE_TOLERANCE, `${f.name}: output`);
    const weights = attentionWeights(q, k, options);
    expect(weights.shape).toEqual(f.weights.shape);
    expectClose(await ctx.read(weights), f.weights.data, FIXTURE_TOLERANCE, `${f.name}: weights`);
  };
}

/** A module configured like the fixture's, with PyTorch's parameters loaded by name. */
export function moduleFromFixture(
  ctx: { device: MultiHeadAttention['device'] },
  f: MhaFixture,
  state: Record<string, Tensor>,
) {
  const c = f.config;
  const mha = new MultiHeadAttention({
    embedDim: c.embed_dim,
    numHeads: c.num_heads,
    ...(c.kdim !== undefined ? { kdim: c.kdim } : {}),
    ...(c.vdim !== undefined ? { vdim: c.vdim } : {}),
    bias: c.bias ?? true,
    addBiasKv: c.add_bias_kv ?? false,
    addZeroAttn: c.add_zero_attn ?? false,
    device: ctx.device,
    seed: 1,
  });
  mha.loadStateDict(state);
  return mha;
}

for (const f of torchFixtures.mha) {
  torchFixtureCases[`MultiHeadAttention ${f.name} matches PyTorch ${torchFixtures.torch}`] = async (
    ctx,
  ) => {
    const state = Object.fromEntries(Object.entries(f.state).map(([k, e]) => [k, load(ctx, e)]));
    const mha = moduleFromFixture(ctx, f, state);
    try {
      const { output, weights } = mha.forward(
        load(ctx, f.query),
        load(ctx, f.key),
        load(ctx, f.value),
        {
          ...(f.keyPaddingMask ? { keyPaddingMask: load(ctx, f.keyPaddingMask) } : {}),
          ...(f.attnMask ? { attnMask: load(ctx, f.attnMask) } : {}),
          averageAttnWeights: f.averageAttnWeights,
        },
      );
      expect(output.shape).toEqual(f.output.shape);
      expect(weights!.shape).toEqual(f.weights.shape);
      expectClose(
        await ctx.read(output),
        f.output.data,
        { atol: 1e-5, rtol: 1e-4 },
        `${f.name}: output`,
      );
      expectClose(
        await ctx.read(weights!),
        f.weights.data,
        FIXTURE_TOLERANCE,
        `${f.name}: weights`,
      );
    } finally {
      mha.dispose();
    }
  };
}
