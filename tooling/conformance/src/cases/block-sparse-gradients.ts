import {
  attention,
  attentionWithLse,
  type BlockSparseAttentionAttrs,
  BlockSparseAttentionBackwardOp,
  BlockSparseAttentionOp,
  runOp,
  runOpSavingForGradient,
  type Tensor,
  valueAndGrads,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { countKernelRuns } from './attention-lse.js';
import {
  CAUSAL,
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
// log-sum-exp and from one that did not. Shapes sit off the block grid.

interface GradCase {
  sizes: Sizes;
  mask: MaskSpec;
  blockQ: number;
  blockKv: number;
  /** Query rows that attend no key: their dQ must be exactly zero. */
  emptyRows?: readonly number[];
  dtype?: 'float32' | 'float16';
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
  const attrs: BlockSparseAttentionAttrs = { blocks, mods: modsFor(c.mask, undefined), scale };
  const saving = { ...attrs, saveLse: true };
  const dense = valueAndGrads((a: Tensor, b: Tensor, d: Tensor) =>
    attention(a, b, d, { attnMask, scale, enableGqa: true }),
  )([q, k, v], dy);
  const denseGrads = await Promise.all(dense.grads.map((g) => ctx.read(g)));
  const tol = ctx.tol(dtype);
  // The forward's saved log-sum-exp (as a recorded front-end call asks for it) against
  // dense attention's under the same mask.
  const [out, lse] = runOp(BlockSparseAttentionOp, [q, k, v], saving);
  const denseLse = attentionWithLse(q, k, v, { attnMask, scale, enableGqa: true });
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
    sparse.value.dispose();
  }
  for (const t of [dense.value, attnMask, q, k, v, dy]) t.dispose();
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
      mask: {
        js: (_b, h, i, j) => (i + j + h) % 3 !== 0,
        wgsl: '(q_idx + kv_idx + h) % 3i != 0i',
        perHead: true,
      },
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
  'a score modifier is refused by the backward, naming the op': (ctx) => {
    const q = ctx.random([1, 1, 4, 4]).t;
    const blocks = tablesFor(CAUSAL.js, {
      qLen: 4,
      kvLen: 4,
      blockQ: 4,
      blockKv: 4,
      batch: 1,
      heads: 1,
    });
    const mods = modsFor(CAUSAL, TABLE_AND_SCALAR);
    const rows = ctx.random([1, 1, 4]).t;
    expect(() =>
      runOp(BlockSparseAttentionBackwardOp, [q, q, q, q, rows, rows], {
        blocks,
        mods,
        scale: 1,
      }),
    ).toThrow(/blockSparseAttentionBackward: the gradient through a score modifier/);
    q.dispose();
    rows.dispose();
  },
};
