import { type CaseContext, type CaseGroup, expectClose } from '@qkv/conformance';
import { RotaryEmbedding } from '@qkv/positional';
import { concat, narrow, type Tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import { KVCache, MultiHeadAttention, scaledDotProductAttention } from '../../src/index.js';

const F32 = { atol: 1e-5, rtol: 1e-4 };

/** Positions fed per decoding step: a prompt, single tokens, then a chunk. */
const STEPS = [3, 1, 1, 2, 1, 4];

async function decodingMatchesFullForward(
  ctx: CaseContext,
  config: { numKvHeads?: number; rope?: boolean; alibi?: boolean; writeMode?: 'in-place' | 'copy' },
): Promise<void> {
  const total = STEPS.reduce((p, d) => p + d, 0);
  const rope = config.rope
    ? new RotaryEmbedding({
        headDim: 4,
        theta: 10000,
        scaling: {
          type: 'llama3',
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositionEmbeddings: 8,
        },
      })
    : undefined;
  const mha = new MultiHeadAttention({
    embedDim: 16,
    numHeads: 4,
    ...(config.numKvHeads ? { numKvHeads: config.numKvHeads } : {}),
    // LLaMA-style rotate-half RoPE with llama3 frequency scaling, from @qkv/positional.
    ...(rope ? { rope } : {}),
    // The paper's slopes for 4 heads (2^(-8 i / 4)), made by the module.
    ...(config.alibi ? { alibi: true as const } : {}),
    device: ctx.device,
    seed: 21,
  });
  if (config.alibi) {
    // Press et al. 2022: for 4 heads the slopes are 2^(-8 i / 4), i = 1..4.
    expect(Array.from(await mha.alibi!.data())).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
  }
  // Capacity 2 so the cache has to grow (2 → 4 → 8 → 16) while decoding.
  const cache = new KVCache({
    batch: 2,
    numKvHeads: mha.numKvHeads,
    headDim: mha.headDim,
    capacity: 2,
    device: ctx.device,
    ...(config.writeMode ? { writeMode: config.writeMode } : {}),
  });
  try {
    const x = ctx.random([2, total, 16]).t;
    const full = await ctx.read(
      mha.forward(x, x, x, { isCausal: true, needWeights: false }).output,
    );
    let start = 0;
    const capacities: number[] = [];
    for (const count of STEPS) {
      const chunk = narrow(x, 1, start, count);
      const step = mha.forward(chunk, chunk, chunk, { isCausal: true, cache, needWeights: false });
      chunk.dispose();
      expect(cache.length).toBe(start + count);
      capacities.push(cache.capacity);
      const got = await ctx.read(step.output);
      // Rows start..start+count of each batch entry of the full forward.
      const expected = [0, 1].flatMap((n) =>
        full.slice((n * total + start) * 16, (n * total + start + count) * 16),
      );
      expectClose(got, expected, F32, `positions ${start}..${start + count - 1}`);
      start += count;
    }
    expect(capacities).toEqual([4, 4, 8, 8, 8, 16]);
  } finally {
    mha.dispose();
    cache.dispose();
    rope?.dispose();
  }
}

export const kvCacheCases: CaseGroup = {
  'cached decoding equals the full causal forward at every step': (ctx) =>
    decodingMatchesFullForward(ctx, {}),
  'cached decoding with grouped-query attention and RoPE offsets': (ctx) =>
    decodingMatchesFullForward(ctx, { numKvHeads: 2, rope: true }),
  'cached decoding with ALiBi distances': (ctx) => decodingMatchesFullForward(ctx, { alibi: true }),
  'cached decoding through the copying write path': (ctx) =>
    decodingMatchesFullForward(ctx, { numKvHeads: 1, writeMode: 'copy' }),
};

kvCacheCases['SDPA over a preallocated cache equals causal SDPA over the concatenated keys'] =
  async (ctx) => {
    const cache = new KVCache({
      batch: 1,
      numKvHeads: 2,
      headDim: 8,
      capacity: 3,
      device: ctx.device,
    });
    try {
      const prefixK = ctx.random([1, 2, 5, 8]).t;
      const prefixV = ctx.random([1, 2, 5, 8]).t;
      cache.append(prefixK, prefixV);
      const newK = ctx.random([1, 2, 2, 8]).t;
      const newV = ctx.random([1, 2, 2, 8]).t;
      cache.append(newK, newV);
      expect([cache.length, cache.capacity]).toEqual([7, 12]);
      const q = ctx.random([1, 4, 2, 8]).t;
      const got = scaledDotProductAttention(q, cache.keys, cache.values, {
        kvLength: cache.length,
        isCausal: true,
        causalAlignment: 'bottom-right',
        enableGqa: true,
      });
      const keys = concat([prefixK, newK], 2);
      const values = concat([prefixV, newV], 2);
      const reference = scaledDotProductAttention(q, keys, values, {
        isCausal: true,
        causalAlignment: 'bottom-right',
        enableGqa: true,
      });
      keys.dispose();
      values.dispose();
      expectClose(await ctx.read(got), await ctx.read(reference), { atol: 1e-6, rtol: 1e-5 });
    } finally {
      cache.dispose();
    }
  };

kvCacheCases['append rejects tensors of the wrong shape'] = (ctx) => {
  const cache = new KVCache({ batch: 2, numKvHeads: 2, headDim: 4, device: ctx.device });
  try {
    const bad: Tensor = ctx.random([2, 3, 1, 4]).t;
    expect(() => cache.append(bad, bad)).toThrow(
      'KVCache.append: expected k [2, 2, 1, 4] and v [2, 2, 1, 4] (batch, kv heads, new positions, dim), got k [2, 3, 1, 4] and v [2, 3, 1, 4]',
    );
    expect(() => new KVCache({ batch: 0, numKvHeads: 1, headDim: 4 })).toThrow(
      'KVCache: batch must be a positive integer, got 0',
    );
  } finally {
    cache.dispose();
  }
};
