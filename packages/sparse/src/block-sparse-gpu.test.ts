import {
  attentionSizes,
  type CaseContext,
  type CaseGroup,
  describeGpuConformance,
  expectClose,
} from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import { type DType, QkvError } from '@qkv/tensor';
import { expect } from 'vitest';
import { createBlockMask } from './block-mask.js';
import {
  type BlockSparseAttentionOptions,
  blockSparseAttention,
} from './block-sparse-attention.js';
import { compileJs } from './compile-js.js';
import { and, kvIdx, or, param, qIdx } from './expr.js';
import { compileMask, type Mask, maskFromPredicate } from './mask.js';
import { bigBird, causal, documentMask, fullMask, longformer, slidingWindow } from './patterns.js';
import { alibi, composeScoreMods, softCap } from './score-mods.js';
import { SCORE_MOD_GRADIENT_CASES, SCORE_MOD_GRADIENT_ERRORS } from './test-score-mod-grads.js';
import { denseAttention, type ProblemSize } from './test-utils.js';

// The mask language on WebGPU: masks and score modifiers from this package, compiled to the
// `blockSparseAttention` op's attributes and run by @qkv/kernels' block-sparse kernel, against
// a float64 dense reference under the same mask. The op's own conformance cases (plain block
// tables, every backend) live in tooling/conformance.

const F32 = { atol: 2e-5, rtol: 2e-4 };

interface SparseCase {
  size: ProblemSize;
  mask: Mask;
  blockQ: number;
  blockKv: number;
  options?: BlockSparseAttentionOptions;
  dtype?: DType;
  tol?: { atol: number; rtol: number };
}

async function check(ctx: CaseContext, c: SparseCase): Promise<void> {
  const { batch, heads, kvHeads, qLen, kvLen, headDim, valueDim } = c.size;
  const dtype = c.dtype ?? 'float32';
  const q = ctx.random([batch, heads, qLen, headDim], { dtype });
  const k = ctx.random([batch, kvHeads, kvLen, headDim], { dtype });
  const v = ctx.random([batch, kvHeads, kvLen, valueDim], { dtype });
  const blocks = createBlockMask(c.mask, {
    qLen,
    kvLen,
    blockQ: c.blockQ,
    blockKv: c.blockKv,
    batch,
    heads,
  });
  const out = blockSparseAttention(q.t, k.t, v.t, blocks, { enableGqa: true, ...c.options });
  const scoreMod = c.options?.scoreMod ? compileJs(c.options.scoreMod) : undefined;
  const expected = denseAttention({
    ...c.size,
    q: q.values,
    k: k.values,
    v: v.values,
    scale: c.options?.scale ?? 1 / Math.sqrt(headDim),
    mask: compileMask(c.mask),
    ...(scoreMod ? { scoreMod } : {}),
  });
  expectClose(await ctx.read(out), expected, c.tol ?? F32, 'blockSparseAttention');
}

const size = attentionSizes;

const segments = Int32Array.from({ length: 50 }, (_, i) => (i < 17 ? 0 : i < 41 ? 1 : 2));

const MASK_LANGUAGE_ON_GPU: CaseGroup = {
  'sliding window AND document mask, GQA, sizes off the block grid': (ctx) =>
    check(ctx, {
      size: size(2, 2, 1, 50, 50, 12, 7),
      mask: and(slidingWindow(20), documentMask(segments)),
      blockQ: 16,
      blockKv: 16,
    }),
  'query blocks over 64 rows, uneven key blocks, ALiBi and softcap score mods': (ctx) =>
    check(ctx, {
      size: size(1, 2, 2, 90, 70, 8, 8),
      mask: causal(),
      blockQ: 80,
      blockKv: 24,
      options: { scoreMod: composeScoreMods(alibi(2), softCap(2)), scale: 0.6 },
    }),
  'Longformer with global tokens': (ctx) =>
    check(ctx, {
      size: size(1, 1, 1, 40, 40, 6, 5),
      mask: longformer({ radius: 3, global: [0, 9] }),
      blockQ: 8,
      blockKv: 8,
    }),
  'BigBird OR a mask param, float16': (ctx) =>
    check(ctx, {
      size: size(1, 2, 2, 48, 48, 8, 8),
      mask: or(
        bigBird({
          blockSize: 8,
          seqLen: 48,
          windowBlocks: 3,
          globalBlocks: 1,
          randomBlocks: 1,
          seed: 7,
        }),
        kvIdx.eq(qIdx.add(param('shift', 5))),
      ),
      blockQ: 8,
      blockKv: 8,
      dtype: 'float16',
      tol: { atol: 4e-3, rtol: 4e-3 },
    }),
  'rows that attend nothing are zeros': (ctx) =>
    // Keys 30.. only: query rows < 30 see nothing under the causal part.
    check(ctx, {
      size: size(1, 1, 1, 33, 40, 4, 4),
      mask: and(causal(), kvIdx.ge(30)),
      blockQ: 16,
      blockKv: 16,
    }),
  'every block full: a JavaScript predicate needs no WGSL': (ctx) =>
    check(ctx, {
      size: size(1, 1, 1, 20, 20, 4, 4),
      mask: maskFromPredicate(() => true),
      blockQ: 8,
      blockKv: 8,
    }),
  'full mask, blocks of 4': (ctx) =>
    check(ctx, { size: size(1, 1, 1, 9, 9, 4, 4), mask: fullMask(), blockQ: 4, blockKv: 4 }),
  'a predicate mask with partial blocks is a clear error': (ctx) => {
    const mask = maskFromPredicate((_b, _h, i, j) => (i + j) % 3 !== 0);
    const blocks = createBlockMask(mask, { qLen: 8, kvLen: 8, blockSize: 4, batch: 1, heads: 1 });
    const [q, k, v] = [1, 2, 3].map((seed) => ctx.random([1, 1, 8, 4], { seed }).t);
    expect(() => blockSparseAttention(q!, k!, v!, blocks)).toThrow(QkvError);
    expect(() => blockSparseAttention(q!, k!, v!, blocks)).toThrow(/maskFromPredicate/);
  },
};

await describeGpuConformance(() => createWebGPUDevice({ poison: true }), {
  'sparse masks on WebGPU': MASK_LANGUAGE_ON_GPU,
  'gradients through score modifiers on WebGPU': SCORE_MOD_GRADIENT_CASES,
  'score modifiers without a derivative on WebGPU': SCORE_MOD_GRADIENT_ERRORS,
});
