import {
  attention,
  attentionWithLse,
  type BlockSparseAttentionAttrs,
  BlockSparseAttentionBackwardOp,
  BlockSparseAttentionOp,
  type CompiledAttentionMods,
  runOp,
  runOpSavingForGradient,
  type Tensor,
  valueAndGrads,
  wgslTanh,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { countKernelRuns } from './attention-lse.js';
import {
  CAUSAL,
  HOLES_PER_HEAD,
  type MaskSpec,
  modsFor,
  type Predicate,
  type Sizes,
  sizes,
  slidingWindow,
  TABLE_AND_SCALAR,
  tablesFor,
} from './block-sparse-attention.js';

// The gradient of `blockSparseAttention` (its backward visits only the forward's blocks)
// against the gradient of dense `attention` under the equivalent boolean mask, which the
// gradient conformance cases check against PyTorch, both from a forward that saved its row
// log-sum-exp and from one that did not. Shapes sit off the block grid. A score
// modifier's gradient goes through the derivative the mods carry: a hand-written soft-cap
// plus a per-head bias against dense attention's `softcap` and a float `bias`.

const CAP = 1.5;
const HEAD_BIAS = [0.5, -0.75, 1.25, 0];

/**
 * s' = cap·tanh(s / cap) + headBias[h] and its derivative 1 − tanh²(s / cap), in JavaScript
 * and WGSL (the cap a scalar parameter, the biases a table), added to a mask's mods.
 */
function withSoftCapAndBias(mods: CompiledAttentionMods): CompiledAttentionMods {
  const code = `${wgslTanh('cf_tanh')}
fn cf_score(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32 {
  return params.cf_cap * cf_tanh(score / params.cf_cap) + cf_head_bias[h];
}
fn cf_score_grad(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32 {
  let t = cf_tanh(score / params.cf_cap);
  return 1.0 - t * t;
}`;
  return {
    ...mods,
    scoreMod: (_b, h, _i, _j, s) => CAP * Math.tanh(s / CAP) + Math.fround(HEAD_BIAS[h]!),
    scoreModGrad: (_b, _h, _i, _j, s) => 1 - Math.tanh(s / CAP) ** 2,
    wgsl: {
      code: `${mods.wgsl?.code ?? ''}\n${code}`,
      ...(mods.wgsl?.maskFunction ? { maskFunction: mods.wgsl.maskFunction } : {}),
      scoreFunction: 'cf_score',
      scoreGradFunction: 'cf_score_grad',
      tables: [{ name: 'cf_head_bias', data: Float32Array.from(HEAD_BIAS) }],
      scalars: [{ name: 'cf_cap', type: 'f32', value: CAP }],
    },
  };
}

interface GradCase {
  sizes: Sizes;
  mask: MaskSpec;
  blockQ: number;
  blockKv: number;
  /** Query rows that attend no key: their dQ must be exactly zero. */
  emptyRows?: readonly number[];
  dtype?: 'float32' | 'float16';
  /** Through {@link withSoftCapAndBias}'s score modifier (dense: softcap and a bias). */
  softCapAndBias?: boolean;
}

async function check(ctx: CaseContext, c: GradCase): Promise<void> {
  const { batch, heads, kvHeads, qLen, kvLen, headDim, valueDim } = c.sizes;
  // Batch 0 stands for rank-3 inputs (no batch dimension).
  const lead = batch === 0 ? [] : [batch];
  const dtype = c.dtype ?? 'float32';
  const q = ctx.random([...lead, heads, qLen, headDim], { dtype }).t;
  const k = ctx.random([...lead, kvHeads, kvLen, headDim], { dtype }).t;
  const v = ctx.random([...lead, kvHeads, kvLen, valueDim], { dtype }).t;
  const dy = ctx.random([...lead, heads, qLen, valueDim], { dtype }).t;
  const blocks = tablesFor(c.mask.js, {
    qLen,
    kvLen,
    blockQ: c.blockQ,
    blockKv: c.blockKv,
    batch: c.mask.perBatch ? Math.max(batch, 1) : 1,
    heads: c.mask.perHead ? heads : 1,
  });
  const scale = 1 / Math.sqrt(headDim);
  const allowed: boolean[] = [];
  for (let b = 0; b < Math.max(batch, 1); b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < qLen; i++)
        for (let j = 0; j < kvLen; j++) allowed.push(c.mask.js(b, h, i, j));
  const attnMask = ctx.tensor(allowed, [...lead, heads, qLen, kvLen], 'bool');
  const maskMods = modsFor(c.mask, undefined);
  const attrs: BlockSparseAttentionAttrs = {
    blocks,
    mods: c.softCapAndBias ? withSoftCapAndBias(maskMods) : maskMods,
    scale,
  };
  const saving = { ...attrs, saveLse: true };
  const bias = c.softCapAndBias
    ? ctx.tensor(
        Array.from(
          { length: heads * qLen * kvLen },
          (_, x) => HEAD_BIAS[Math.floor(x / (qLen * kvLen))]!,
        ),
        [heads, qLen, kvLen],
      )
    : undefined;
  const denseOptions = {
    attnMask,
    scale,
    enableGqa: true,
    ...(bias ? { bias, softcap: CAP } : {}),
  };
  const dense = valueAndGrads((a: Tensor, b: Tensor, d: Tensor) =>
    attention(a, b, d, denseOptions),
  )([q, k, v], dy);
  const denseValue = await ctx.read(dense.value);
  const denseGrads = await Promise.all(dense.grads.map((g) => ctx.read(g)));
  const tol = ctx.tol(dtype);
  // The forward's saved log-sum-exp (as a recorded front-end call asks for it) against
  // dense attention's under the same mask.
  const [out, lse] = runOp(BlockSparseAttentionOp, [q, k, v], saving);
  const denseLse = attentionWithLse(q, k, v, denseOptions);
  expectClose(await ctx.read(lse!), await ctx.read(denseLse.lse), LSE, 'log-sum-exp');
  for (const t of [out!, denseLse.out]) t.dispose();
  // Without the saved log-sum-exp the gradient runs blockSparseAttentionLse; with it, never.
  for (const [save, lseRuns] of [
    [false, 1],
    [true, 0],
  ] as const) {
    const label = `blockSparseAttention (${save ? 'saved' : 'separate'} log-sum-exp)`;
    const { runs, result: sparse } = countKernelRuns(
      'blockSparseAttentionLse',
      [ctx.backend, 'cpu'],
      () =>
        valueAndGrads((a: Tensor, b: Tensor, d: Tensor) =>
          runOpSavingForGradient(BlockSparseAttentionOp, [a, b, d], attrs, save ? saving : attrs),
        )([q, k, v], dy),
    );
    expect(runs, `${label}: blockSparseAttentionLse runs`).toBe(lseRuns);
    expectClose(await ctx.read(sparse.value), denseValue, tol, `${label} output`);
    const got: number[][] = [];
    for (const [i, name] of ['dQ', 'dK', 'dV'].entries()) {
      got.push(await ctx.read(sparse.grads[i]!));
      expectClose(got[i]!, denseGrads[i]!, tol, `${label} ${name}`);
      expect(got[i]!.every(Number.isFinite), `${name} is finite`).toBe(true);
    }
    if (c.emptyRows) {
      const dq = got[0]!;
      for (const i of c.emptyRows) {
        const row = dq.slice(i * headDim, (i + 1) * headDim);
        expect(row, `dQ of query row ${i}, which attends no key`).toEqual(row.map(() => 0));
      }
    }
    for (const t of [sparse.value, ...sparse.grads]) t.dispose();
  }
  for (const t of [dense.value, ...dense.grads, attnMask, q, k, v, dy]) t.dispose();
  bias?.dispose();
}

/** The log-sum-exp is near the scores' size (a few units): float32 error is ~1e-6 of it. */
const LSE = { atol: 1e-5, rtol: 1e-5 };

const lastKeysOnly: Predicate = (_b, _h, i, j) => j <= i && j >= 20;

export const blockSparseGradientCases: CaseGroup = {
  'causal, sizes off the block grid (L = S = 19, blocks of 8)': (ctx) =>
    check(ctx, { sizes: sizes(1, 2, 2, 19, 19, 5, 3), mask: CAUSAL, blockQ: 8, blockKv: 8 }),
  'sliding window, grouped-query (Hq 4, Hkv 2: dK, dV summed over the group), L != S': (ctx) =>
    check(ctx, {
      sizes: sizes(2, 4, 2, 13, 17, 4, 6),
      mask: slidingWindow(5),
      blockQ: 4,
      blockKv: 6,
    }),
  'mask per head (partial blocks evaluate it per element)': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 2, 2, 11, 9, 4, 4),
      mask: HOLES_PER_HEAD,
      blockQ: 4,
      blockKv: 4,
    }),
  'rank 3 (no batch dimension), causal': (ctx) =>
    check(ctx, { sizes: sizes(0, 2, 1, 10, 10, 4, 4), mask: CAUSAL, blockQ: 4, blockKv: 4 }),
  'float16 in, float16 gradients': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 2, 2, 12, 12, 8, 8),
      mask: slidingWindow(5),
      blockQ: 4,
      blockKv: 4,
      dtype: 'float16',
    }),
  'rows that attend no key get zero gradient, never NaN': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 1, 1, 25, 26, 4, 4),
      mask: {
        js: lastKeysOnly,
        wgsl: 'kv_idx <= q_idx && kv_idx >= 20i',
      },
      blockQ: 8,
      blockKv: 8,
      emptyRows: Array.from({ length: 20 }, (_, i) => i),
    }),
  'through a score modifier (soft-cap, table and scalar): its derivative scales dS': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 4, 2, 11, 14, 4, 3),
      mask: slidingWindow(6),
      blockQ: 4,
      blockKv: 5,
      softCapAndBias: true,
    }),
  // The GPU kernels give each workgroup a slice of up to 64 rows of one block and stage the
  // other side's blocks a tile at a time: blocks over 64 rows split into slices, blocks that
  // do not divide L end short, tiles end inside a block.
  'query blocks of 96 rows in two slices, key blocks of 80 (L = 130, S = 140)': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 2, 2, 130, 140, 8, 4),
      mask: slidingWindow(40),
      blockQ: 96,
      blockKv: 80,
    }),
  'L = 70 in blocks of 16 and 32, grouped-query (Hq 4, Hkv 1)': (ctx) =>
    check(ctx, {
      sizes: sizes(2, 4, 1, 70, 70, 8, 8),
      mask: slidingWindow(24),
      blockQ: 16,
      blockKv: 32,
    }),
  'head dims of 512 (small tiles, or none in 16 KiB of workgroup memory)': (ctx) =>
    check(ctx, { sizes: sizes(1, 1, 1, 9, 11, 512, 512), mask: CAUSAL, blockQ: 4, blockKv: 4 }),
  'a score modifier without a derivative is refused when the forward is recorded': (ctx) => {
    const q = ctx.random([1, 1, 4, 4]).t;
    const blocks = tablesFor(CAUSAL.js, {
      qLen: 4,
      kvLen: 4,
      blockQ: 4,
      blockKv: 4,
      batch: 1,
      heads: 1,
    });
    const attrs = { blocks, mods: modsFor(CAUSAL, TABLE_AND_SCALAR), scale: 1 };
    // Without a gradient the forward runs.
    runOp(BlockSparseAttentionOp, [q, q, q], attrs)[0]!.dispose();
    const f = (a: Tensor) => runOp(BlockSparseAttentionOp, [a, q, q], attrs)[0]!;
    expect(() => valueAndGrads(f)([q])).toThrow(
      /^blockSparseAttention: the gradient through the score modifier needs its derivative/,
    );
    const rows = ctx.random([1, 1, 4]).t;
    expect(() => runOp(BlockSparseAttentionBackwardOp, [q, q, q, q, rows, rows], attrs)).toThrow(
      /blockSparseAttentionBackward: the gradient through the score modifier needs its derivative: the compiled mods carry no scoreModGrad/,
    );
  },
};
