import {
  type BlockMask,
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
import type { Tensor } from '@qkv/tensor';
import type { Measurement, Suite, SuiteContext } from '../suite.js';
import { contextDevice, isSoftwareDevice, normalData, upload } from './common.js';

/**
 * Block-sparse attention against sequence length N on the run's device: unmasked attention
 * (all N^2 pairs), causal with every block visited and the mask evaluated everywhere,
 * block-sparse causal (~N^2 / 2 attended pairs, empty blocks skipped), and sliding-window,
 * Longformer, BigBird and strided patterns, whose work grows linearly (N sqrt N for strided,
 * though its blocks are all partial, so mask evaluation stays quadratic). The summary table and the
 * dashboard fit each line's log-log slope: about 2 for quadratic, about 1 for linear. On
 * hardware GPUs the suite also times a causal sliding window of W = 1024 at N = 16384 against
 * causal (FlexAttention on an H200 takes 0.198x the causal time) and logs the ratio.
 */

const HEAD_DIM = 64;
const BLOCK = 64;
const WINDOW = 256;

interface Pattern {
  name: string;
  mask(n: number): Expr;
  /** `dense` visits every block and evaluates the mask everywhere: no block skipping. */
  classify?: 'dense';
  /** Whether the attended pairs grow as N² (drawn apart from the patterns that do not). */
  quadratic?: boolean;
}

const CAUSAL: Pattern = { name: 'causal', mask: () => causal(), quadratic: true };

const PATTERNS: Pattern[] = [
  { name: 'full', mask: () => fullMask(), quadratic: true },
  { name: 'causal-every-block', mask: () => causal(), classify: 'dense', quadratic: true },
  CAUSAL,
  { name: `sliding-window-${WINDOW}`, mask: () => slidingWindow(WINDOW) },
  { name: 'longformer-r128-g16', mask: () => longformer({ radius: 128, global: 16 }) },
  {
    name: 'bigbird-b64-w1-g1-r2',
    mask: (n) =>
      bigBird({ blockSize: BLOCK, seqLen: n, windowBlocks: 1, globalBlocks: 1, randomBlocks: 2 }),
  },
  { name: 'strided-sqrtN', mask: (n) => sparseTransformerStrided(Math.round(Math.sqrt(n))) },
];

function blockMaskBytes(mask: BlockMask): number {
  return [
    mask.fullCounts,
    mask.fullOffsets,
    mask.fullIndices,
    mask.partialCounts,
    mask.partialOffsets,
    mask.partialIndices,
  ].reduce((a, t) => a + t.byteLength, 0);
}

/**
 * Query-key pairs in the blocks the kernel visits (full and partial, edge blocks clipped):
 * the work of a GPU kernel that computes whole blocks, and an upper bound on attended pairs.
 */
function visitedPairs(mask: BlockMask): number {
  const rows = (qb: number) => Math.min(mask.blockQ, mask.qLen - qb * mask.blockQ);
  const cols = (kb: number) => Math.min(mask.blockKv, mask.kvLen - kb * mask.blockKv);
  let pairs = 0;
  for (let r = 0; r < mask.numQBlocks * mask.batch * mask.heads; r++) {
    const h = rows(r % mask.numQBlocks);
    for (const [offsets, indices] of [
      [mask.fullOffsets, mask.fullIndices],
      [mask.partialOffsets, mask.partialIndices],
    ] as const) {
      for (let i = offsets[r]!; i < offsets[r + 1]!; i++) pairs += h * cols(indices[i]!);
    }
  }
  return pairs;
}

interface SparseCase {
  heads: number;
  n: number;
  seed: number;
}

/** Time one pattern at one N; returns qkv's measurement. */
async function measureCase(
  ctx: SuiteContext,
  pattern: Pattern,
  { heads, n, seed }: SparseCase,
): Promise<Measurement> {
  const device = contextDevice(ctx);
  const shape = [1, heads, n, HEAD_DIM];
  const size = heads * n * HEAD_DIM;
  const [q, k, v] = [0, 1, 2].map((j) => upload(ctx, normalData(size, seed + j), shape)) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  const maskOptions = {
    qLen: n,
    kvLen: n,
    blockSize: BLOCK,
    ...(pattern.classify ? { classify: pattern.classify } : {}),
  };
  const mask = createBlockMask(pattern.mask(n), maskOptions);
  const params = {
    backend: device.backend,
    pattern: pattern.name,
    heads,
    n,
    headDim: HEAD_DIM,
    blockSize: BLOCK,
  };
  const config = {
    density: Number(blockDensity(mask).toFixed(4)),
    blockMaskBytes: blockMaskBytes(mask),
  };
  let pairs: number;
  if (device.backend === 'cpu') {
    // One counted run gives the attended pairs: 4 E flops each (q·k and p·v, multiply-adds).
    const stats = emptyStats();
    blockSparseAttention(q, k, v, mask, { stats }).dispose();
    pairs = stats.scoresComputed;
  } else {
    // The GPU kernel does not count; it computes every pair of the blocks it visits.
    pairs = heads * visitedPairs(mask);
  }
  const settle = ctx.settle ?? (async () => {});
  try {
    const m = await ctx.measure(
      'qkv',
      params,
      async () => {
        const out = blockSparseAttention(q, k, v, mask);
        await settle(out);
        out.dispose();
      },
      {
        flops: 4 * HEAD_DIM * pairs,
        x: 'n',
        series: pattern.name,
        group: pattern.quadratic ? 'N² patterns' : 'sub-quadratic patterns',
        config: { ...config, flopsFrom: device.backend === 'cpu' ? 'attended' : 'visited' },
        // On the CPU the counted run above has already warmed the code up.
        ...(isSoftwareDevice(device)
          ? { repeats: ctx.quick ? 2 : 3, warmup: device.backend === 'cpu' ? 0 : 1 }
          : {}),
      },
    );
    await ctx.measure(
      'qkv-block-mask-build',
      params,
      () => createBlockMask(pattern.mask(n), maskOptions),
      // A step of the op, not a peer of it: drawn on its own chart and never compared.
      { x: 'n', series: pattern.name, role: 'part', config, trackMemory: false },
    );
    return m;
  } finally {
    for (const t of [q, k, v]) t.dispose();
  }
}

/** FlexAttention's headline case: a causal window of 1024 keys at N = 16384, against causal. */
export async function windowAgainstCausal(
  ctx: SuiteContext,
  heads: number,
  n = 16384,
): Promise<void> {
  const window: Pattern = {
    name: 'sliding-window-1024',
    mask: () => slidingWindow(1024),
  };
  const dense = await measureCase(ctx, CAUSAL, { heads, n, seed: 9000 });
  const sparse = await measureCase(ctx, window, { heads, n, seed: 9000 });
  const ratio = sparse.medianMs / dense.medianMs;
  // Kept in the result file too (the measurement is the one already recorded).
  sparse.config = { ...sparse.config, timeOverCausal: Number(ratio.toFixed(4)) };
  ctx.log(
    `sparse: causal sliding window W=1024 at N=${n}, ${heads} heads: ${ratio.toFixed(3)}x the causal time`,
  );
}

export const sparseSuite: Suite = {
  name: 'sparse',
  description:
    'Block-sparse attention: time against N for causal vs sliding-window, Longformer, BigBird and strided masks (log-log slope)',
  async run(ctx) {
    const software = isSoftwareDevice(contextDevice(ctx));
    const sizes = ctx.quick
      ? [128, 256]
      : software
        ? [512, 1024, 2048, 4096]
        : [1024, 2048, 4096, 8192, 16384];
    const heads = software ? 1 : 16;
    for (const [i, pattern] of PATTERNS.entries()) {
      for (const n of sizes) await measureCase(ctx, pattern, { heads, n, seed: 10 * i });
    }
    if (!ctx.quick && !software) await windowAgainstCausal(ctx, heads);
  },
};
