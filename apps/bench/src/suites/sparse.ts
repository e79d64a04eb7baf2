import {
  bigBird,
  blockDensity,
  blockSparseAttention,
  causal,
  createBlockMask,
  type Expr,
  emptyStats,
  fullMask,
  longformer,
  slidingWindow,
  sparseTransformerStrided,
} from '@qkv/sparse';
import { randn, type Tensor } from '@qkv/tensor';
import type { Measurement, Suite, SuiteContext } from '../suite.js';

/**
 * CPU time of block-sparse attention against sequence length N: unmasked attention (all N^2
 * pairs), causal with every block visited and the mask evaluated everywhere, block-sparse
 * causal (~N^2 / 2 attended pairs, empty blocks skipped), and sliding-window, Longformer,
 * BigBird and strided patterns, whose work grows linearly (N sqrt N for strided, though
 * its blocks are all partial, so mask evaluation stays quadratic). The slope of log(time) against log(N)
 * is logged per pattern: about 2 for quadratic, about 1 for linear.
 */

const HEAD_DIM = 64;
const BLOCK = 64;
const WINDOW = 256;

interface Pattern {
  name: string;
  mask(n: number): Expr;
  /** `dense` visits every block and evaluates the mask everywhere: no block skipping. */
  classify?: 'dense';
}

const PATTERNS: Pattern[] = [
  { name: 'full', mask: () => fullMask() },
  { name: 'causal-every-block', mask: () => causal(), classify: 'dense' },
  { name: 'causal', mask: () => causal() },
  { name: `sliding-window-${WINDOW}`, mask: () => slidingWindow(WINDOW) },
  { name: 'longformer-r128-g16', mask: () => longformer({ radius: 128, global: 16 }) },
  {
    name: 'bigbird-b64-w1-g1-r2',
    mask: (n) =>
      bigBird({ blockSize: BLOCK, seqLen: n, windowBlocks: 1, globalBlocks: 1, randomBlocks: 2 }),
  },
  { name: 'strided-sqrtN', mask: (n) => sparseTransformerStrided(Math.round(Math.sqrt(n))) },
];

/** Least-squares slope of log(ms) against log(n). */
function logLogSlope(points: { n: number; ms: number }[]): number {
  const xs = points.map((p) => Math.log(p.n));
  const ys = points.map((p) => Math.log(p.ms));
  const mx = xs.reduce((a, c) => a + c, 0) / xs.length;
  const my = ys.reduce((a, c) => a + c, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

async function measurePattern(ctx: SuiteContext, pattern: Pattern, sizes: number[]): Promise<void> {
  const points: { n: number; ms: number }[] = [];
  for (const n of sizes) {
    const q = randn([1, 1, n, HEAD_DIM], { seed: 1 });
    const k = randn([1, 1, n, HEAD_DIM], { seed: 2 });
    const v = randn([1, 1, n, HEAD_DIM], { seed: 3 });
    const maskOptions = {
      qLen: n,
      kvLen: n,
      blockSize: BLOCK,
      ...(pattern.classify ? { classify: pattern.classify } : {}),
    };
    const mask = createBlockMask(pattern.mask(n), maskOptions);
    const maskBytes = [
      mask.fullCounts,
      mask.fullOffsets,
      mask.fullIndices,
      mask.partialCounts,
      mask.partialOffsets,
      mask.partialIndices,
    ].reduce((a, t) => a + t.byteLength, 0);
    const params = {
      backend: 'cpu',
      pattern: pattern.name,
      n,
      headDim: HEAD_DIM,
      blockSize: BLOCK,
      density: Number(blockDensity(mask).toFixed(4)),
      blockMaskBytes: maskBytes,
    };
    // One counted run gives the attended pairs: 4 E flops each (q·k and p·v, multiply-adds).
    const stats = emptyStats();
    let out: Tensor | undefined = blockSparseAttention(q, k, v, mask, { stats });
    const m: Measurement = await ctx.measure(
      'qkv',
      params,
      () => {
        out?.dispose();
        out = blockSparseAttention(q, k, v, mask);
      },
      {
        flops: 4 * HEAD_DIM * stats.scoresComputed,
        ...(ctx.quick ? { repeats: 2, warmup: 1 } : { repeats: 3, warmup: 1 }),
      },
    );
    await ctx.measure('qkv-block-mask-build', { ...params }, () =>
      createBlockMask(pattern.mask(n), maskOptions),
    );
    points.push({ n, ms: m.medianMs });
    for (const t of [q, k, v, out]) t?.dispose();
  }
  if (points.length >= 2) {
    ctx.log(
      `sparse: ${pattern.name}: log-log slope of time against N = ${logLogSlope(points).toFixed(2)}`,
    );
  }
}

export const sparseSuite: Suite = {
  name: 'sparse',
  description:
    'Block-sparse attention on the CPU: time against N for causal vs sliding-window, Longformer, BigBird and strided masks (log-log slope)',
  async run(ctx) {
    const sizes = ctx.quick ? [128, 256] : [512, 1024, 2048, 4096];
    for (const pattern of PATTERNS) await measurePattern(ctx, pattern, sizes);
  },
};
