import {
  type AttentionModsWgsl,
  attention,
  BlockSparseAttentionOp,
  type BlockTables,
  type CompiledAttentionMods,
  runOp,
  type Tensor,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { refAttention } from './attention.js';

// The `blockSparseAttention` op from its plain-data attributes alone: block tables built here
// by evaluating the mask on every element of every block, and masks / score modifiers written
// directly as JavaScript and WGSL, so no front-end is involved. The reference is dense float64
// attention under the same mask (bool mask) and score modifier (additive bias).

export type Predicate = (b: number, h: number, i: number, j: number) => boolean;

/** Sizes of an attention problem: q `[batch, heads, qLen, headDim]`, k / v with `kvHeads`. */
export interface Sizes {
  batch: number;
  heads: number;
  kvHeads: number;
  qLen: number;
  kvLen: number;
  headDim: number;
  valueDim: number;
}

/** Full / partial key blocks per (batch, head, query block), found by evaluating `mask`. */
export function tablesFor(
  mask: Predicate,
  s: { qLen: number; kvLen: number; blockQ: number; blockKv: number; batch: number; heads: number },
): BlockTables {
  const numQBlocks = Math.ceil(s.qLen / s.blockQ);
  const numKvBlocks = Math.ceil(s.kvLen / s.blockKv);
  const full: number[][] = [];
  const partial: number[][] = [];
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      for (let qb = 0; qb < numQBlocks; qb++) {
        const [f, p]: [number[], number[]] = [[], []];
        for (let kb = 0; kb < numKvBlocks; kb++) {
          let allowed = 0;
          let count = 0;
          for (let i = qb * s.blockQ; i < Math.min(s.qLen, (qb + 1) * s.blockQ); i++) {
            for (let j = kb * s.blockKv; j < Math.min(s.kvLen, (kb + 1) * s.blockKv); j++) {
              count++;
              if (mask(b, h, i, j)) allowed++;
            }
          }
          if (allowed === count) f.push(kb);
          else if (allowed > 0) p.push(kb);
        }
        full.push(f);
        partial.push(p);
      }
    }
  }
  const csr = (rows: number[][]) => {
    const offsets = new Int32Array(rows.length + 1);
    rows.forEach((r, i) => {
      offsets[i + 1] = offsets[i]! + r.length;
    });
    return { offsets, indices: Int32Array.from(rows.flat()) };
  };
  const f = csr(full);
  const p = csr(partial);
  return {
    ...s,
    numQBlocks,
    fullOffsets: f.offsets,
    fullIndices: f.indices,
    partialOffsets: p.offsets,
    partialIndices: p.indices,
  };
}

export interface MaskSpec {
  js: Predicate;
  /** A WGSL bool expression of `b`, `h`, `q_idx`, `kv_idx` (i32). */
  wgsl: string;
  /** Whether it reads `b` / `h` (the tables then have a row per batch / head). */
  perBatch?: boolean;
  perHead?: boolean;
}

export interface ScoreModSpec {
  /** Added to the scaled score (so the reference is a bias). */
  bias: (b: number, h: number, i: number, j: number) => number;
  wgsl: Omit<AttentionModsWgsl, 'maskFunction'>;
}

interface SparseCase {
  sizes: Sizes;
  mask?: MaskSpec;
  blockQ: number;
  blockKv: number;
  scoreMod?: ScoreModSpec;
  scale?: number;
  dtype?: 'float32' | 'float16';
}

export function modsFor(mask: MaskSpec | undefined, scoreMod: ScoreModSpec | undefined) {
  const code: string[] = [];
  if (mask) {
    code.push(
      `fn cf_mask(b: i32, h: i32, q_idx: i32, kv_idx: i32) -> bool { return ${mask.wgsl}; }`,
    );
  }
  if (scoreMod) code.push(scoreMod.wgsl.code);
  const wgsl: AttentionModsWgsl = {
    code: code.join('\n'),
    ...(mask ? { maskFunction: 'cf_mask' } : {}),
    ...(scoreMod ? { scoreFunction: scoreMod.wgsl.scoreFunction! } : {}),
    tables: scoreMod?.wgsl.tables ?? [],
    scalars: scoreMod?.wgsl.scalars ?? [],
  };
  const mods: CompiledAttentionMods = {
    ...(mask ? { mask: mask.js } : {}),
    ...(scoreMod
      ? {
          scoreMod: (b: number, h: number, i: number, j: number, s: number) =>
            s + scoreMod.bias(b, h, i, j),
        }
      : {}),
    ...(mask || scoreMod ? { wgsl } : {}),
  };
  return mods;
}

async function check(ctx: CaseContext, c: SparseCase): Promise<void> {
  const { batch, heads, kvHeads, qLen, kvLen, headDim, valueDim } = c.sizes;
  const dtype = c.dtype ?? 'float32';
  const lead = batch === 0 ? [] : [batch];
  const q = ctx.random([...lead, heads, qLen, headDim], { dtype });
  const k = ctx.random([...lead, kvHeads, kvLen, headDim], { dtype });
  const v = ctx.random([...lead, kvHeads, kvLen, valueDim], { dtype });
  const b = Math.max(batch, 1);
  const allowed: Predicate = c.mask?.js ?? (() => true);
  const blocks = tablesFor(allowed, {
    qLen,
    kvLen,
    blockQ: c.blockQ,
    blockKv: c.blockKv,
    batch: c.mask?.perBatch ? b : 1,
    heads: c.mask?.perHead ? heads : 1,
  });
  const scale = c.scale ?? 1 / Math.sqrt(headDim);
  const [out] = runOp(BlockSparseAttentionOp, [q.t, k.t, v.t], {
    blocks,
    mods: modsFor(c.mask, c.scoreMod),
    scale,
  });
  const scoreShape = [b, heads, qLen, kvLen];
  const each = (f: Predicate | ScoreModSpec['bias']) => {
    const values: number[] = [];
    for (let bi = 0; bi < b; bi++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < qLen; i++)
          for (let j = 0; j < kvLen; j++) values.push(Number(f(bi, h, i, j)));
    return values;
  };
  const shape4 = (shape: readonly number[]) => (batch === 0 ? [1, ...shape] : shape);
  const expected = refAttention(
    { data: q.values, shape: shape4(q.t.shape) },
    { data: k.values, shape: shape4(k.t.shape) },
    { data: v.values, shape: shape4(v.t.shape) },
    {
      scale,
      mask: { data: each(allowed), shape: scoreShape, bool: true },
      ...(c.scoreMod ? { bias: { data: each(c.scoreMod.bias), shape: scoreShape } } : {}),
    },
  ).out;
  const got = await ctx.read(out as Tensor);
  expectClose(got, expected, ctx.tol(dtype), 'blockSparseAttention');
}

/** {@link Sizes} in the order the shapes read: `[B, H, Hkv, L, S, E, Ev]`. */
export const sizes = (
  batch: number,
  heads: number,
  kvHeads: number,
  qLen: number,
  kvLen: number,
  headDim: number,
  valueDim: number,
): Sizes => ({ batch, heads, kvHeads, qLen, kvLen, headDim, valueDim });

export const CAUSAL: MaskSpec = { js: (_b, _h, i, j) => j <= i, wgsl: 'kv_idx <= q_idx' };

/** A mask that differs per head and leaves holes in every block (partial blocks everywhere). */
export const HOLES_PER_HEAD: MaskSpec = {
  js: (_b, h, i, j) => (i + j + h) % 3 !== 0,
  wgsl: '(q_idx + kv_idx + h) % 3i != 0i',
  perHead: true,
};

export const slidingWindow = (w: number): MaskSpec => ({
  js: (_b, _h, i, j) => j <= i && i - j < w,
  wgsl: `kv_idx <= q_idx && q_idx - kv_idx < ${w}i`,
});

const HEAD_BIAS = Float32Array.from([0.5, -0.25, 1.5]);

/** ALiBi-like: `- slope·|i - j| + headBias[h]`, reading a table and a scalar parameter. */
export const TABLE_AND_SCALAR: ScoreModSpec = {
  bias: (_b, h, i, j) => -0.375 * Math.abs(i - j) + HEAD_BIAS[h]!,
  wgsl: {
    code: `fn cf_score(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32 {
  return score - params.cf_slope * f32(abs(q_idx - kv_idx)) + cf_head_bias[h];
}`,
    scoreFunction: 'cf_score',
    tables: [{ name: 'cf_head_bias', data: HEAD_BIAS }],
    scalars: [{ name: 'cf_slope', type: 'f32', value: 0.375 }],
  },
};

export const blockSparseAttentionCases: CaseGroup = {
  'causal, sizes off the block grid (L = S = 37, blocks of 16)': (ctx) =>
    check(ctx, { sizes: sizes(2, 2, 2, 37, 37, 9, 5), mask: CAUSAL, blockQ: 16, blockKv: 16 }),
  'grouped-query (Hq 4, Hkv 2), sliding window, L != S, blockQ != blockKv': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 4, 2, 21, 30, 8, 6),
      mask: slidingWindow(7),
      blockQ: 8,
      blockKv: 12,
    }),
  'query blocks of 80 rows (past one 64-row tile), key blocks of 24': (ctx) =>
    check(ctx, { sizes: sizes(1, 1, 1, 90, 70, 8, 8), mask: CAUSAL, blockQ: 80, blockKv: 24 }),
  'mask per batch and head, rank 3 (no batch)': (ctx) =>
    check(ctx, {
      sizes: sizes(0, 3, 3, 13, 11, 8, 4),
      mask: HOLES_PER_HEAD,
      blockQ: 4,
      blockKv: 4,
    }),
  'mask per batch, tables broadcast over heads': (ctx) =>
    check(ctx, {
      sizes: sizes(2, 2, 1, 12, 12, 4, 4),
      mask: {
        js: (b, _h, i, j) => j <= i + b * 3,
        wgsl: 'kv_idx <= q_idx + b * 3i',
        perBatch: true,
      },
      blockQ: 4,
      blockKv: 4,
    }),
  'score modifier reading a table and a scalar parameter': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 3, 3, 10, 14, 8, 8),
      mask: CAUSAL,
      blockQ: 4,
      blockKv: 8,
      scoreMod: TABLE_AND_SCALAR,
      scale: 0.7,
    }),
  'rows with no attended key are zeros': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 1, 1, 33, 40, 4, 4),
      mask: { js: (_b, _h, i, j) => j <= i && j >= 30, wgsl: 'kv_idx <= q_idx && kv_idx >= 30i' },
      blockQ: 16,
      blockKv: 16,
    }),
  'every block full: no mask function': (ctx) =>
    check(ctx, { sizes: sizes(1, 2, 2, 9, 9, 4, 4), blockQ: 4, blockKv: 4 }),
  'float16 in, float16 out': (ctx) =>
    check(ctx, {
      sizes: sizes(1, 2, 2, 20, 20, 8, 8),
      mask: slidingWindow(5),
      blockQ: 8,
      blockKv: 8,
      dtype: 'float16',
    }),
  'a NaN key a row attends makes the row NaN, even alone in its block, as dense attention': async (
    ctx,
  ) => {
    // Window 2 over blocks of 2: row 6 sees key 5 alone in key block 2 (and key 6 in block 3).
    const [l, e, ev, poisoned] = [8, 4, 3, 5];
    const mask = slidingWindow(2);
    const q = ctx.random([1, 1, l, e]).t;
    const kValues = ctx.random([1, 1, l, e]).values;
    const k = ctx.tensor(
      kValues.map((x, i) => (Math.floor(i / e) === poisoned ? Number.NaN : x)),
      [1, 1, l, e],
    );
    const v = ctx.random([1, 1, l, ev]).t;
    const blocks = tablesFor(mask.js, {
      qLen: l,
      kvLen: l,
      blockQ: 2,
      blockKv: 2,
      batch: 1,
      heads: 1,
    });
    const [out] = runOp(BlockSparseAttentionOp, [q, k, v], {
      blocks,
      mods: modsFor(mask, undefined),
      scale: 0.5,
    });
    const allowed = Array.from({ length: l * l }, (_, x) =>
      mask.js(0, 0, Math.floor(x / l), x % l),
    );
    const attnMask = ctx.tensor(allowed, [l, l], 'bool');
    const dense = await ctx.read(attention(q, k, v, { attnMask, scale: 0.5 }));
    const got = await ctx.read(out as Tensor);
    for (let i = 0; i < l; i++) {
      const row = (xs: number[]) => xs.slice(i * ev, (i + 1) * ev);
      const sees = mask.js(0, 0, i, poisoned);
      expect(row(dense).every(Number.isNaN), `dense row ${i}`).toBe(sees);
      expect(row(got).every(Number.isNaN), `block-sparse row ${i} is NaN`).toBe(sees);
      if (!sees) expectClose(row(got), row(dense), ctx.tol('float32'), `row ${i}`);
    }
  },
  'block tables for other lengths are rejected, naming the op': (ctx) => {
    const q = ctx.random([1, 1, 5, 4]).t;
    const k = ctx.random([1, 1, 6, 4]).t;
    const blocks = tablesFor(() => true, {
      qLen: 5,
      kvLen: 5,
      blockQ: 4,
      blockKv: 4,
      batch: 1,
      heads: 1,
    });
    expect(() => runOp(BlockSparseAttentionOp, [q, k, k], { blocks, mods: {}, scale: 1 })).toThrow(
      /blockSparseAttention: the block mask is for qLen 5, kvLen 5 but q has 5 and k 6/,
    );
  },
};
