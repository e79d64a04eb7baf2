import { blockSparseAttention, createBlockMask, slidingWindow } from '@qkv/sparse';
import { attention, grads, Random, type Tensor } from '@qkv/tensor';
import {
  AdamW,
  INDUCTION_CONFIG,
  INDUCTION_TRAINING,
  initParameters,
  languageModelLoss,
  repeatedSequences,
  type TransformerConfig,
  trainStep,
} from '@qkv/train';
import type { Suite, SuiteContext } from '../suite.js';
import { contextDevice, isSoftwareDevice, normalData, sizesFor, upload } from './common.js';

/**
 * Training: fused attention forward against forward + backward (FlashAttention-2's backward:
 * the forward saves each row's log-sum-exp, then dQ and dK/dV recompute probabilities tile by
 * tile from it) on the same shapes, and one AdamW step of the explorer's 2-layer attention-only transformer. On WebGPU
 * each case records its peak memory: the backward never holds the L x S scores, so it grows
 * with L, not L². Block-sparse attention under a causal sliding window, forward against
 * forward + backward, shows the backward keeping the forward's O(N·W) cost.
 */
/** Key block size of the sliding-window cases. */
const SPARSE_BLOCK = 32;

export const trainSuite: Suite = {
  name: 'train',
  description: 'attention forward vs forward + backward, and a training step of a 2-layer model',
  async run(ctx) {
    const lengths = sizesFor(ctx, {
      quick: [16, 33],
      small: [64, 128, 256],
      large: [256, 512, 1024, 2048],
    });
    const heads = ctx.quick ? 2 : isSoftwareDevice(contextDevice(ctx)) ? 4 : 16;
    for (const causal of [false, true]) {
      for (const [i, seqLen] of lengths.entries()) {
        await attentionCases(ctx, { heads, headDim: 64, seqLen, causal }, 900 + i);
      }
    }
    const window = ctx.quick ? 8 : 64;
    for (const [i, seqLen] of lengths.entries()) {
      await slidingWindowCases(ctx, { heads, headDim: 64, seqLen, window }, 950 + i);
    }
    await trainStepCase(ctx);
  },
};

type AttentionFn = (q: Tensor, k: Tensor, v: Tensor) => Tensor;

/** `f` forward against forward + backward (FlashAttention-2 counts 2.5 forwards for it). */
async function forwardBackward(
  ctx: SuiteContext,
  c: {
    name: string;
    series: string;
    params: Record<string, number | string | boolean>;
    shape: number[];
    forwardFlops: number;
    f: AttentionFn;
  },
  seed: number,
): Promise<void> {
  const size = c.shape.reduce((p, d) => p * d, 1);
  const [q, k, v, dy] = [0, 1, 2, 3].map((j) =>
    upload(ctx, normalData(size, seed + 1000 * j), c.shape),
  ) as [Tensor, Tensor, Tensor, Tensor];
  const settle = ctx.settle ?? (async () => {});
  const options = { x: 'seqLen' };
  try {
    await ctx.measure(
      `${c.name} forward`,
      c.params,
      async () => {
        const out = c.f(q, k, v);
        await settle(out);
        out.dispose();
      },
      { ...options, flops: c.forwardFlops, series: `forward ${c.series}` },
    );
    await ctx.measure(
      `${c.name} forward + backward`,
      c.params,
      async () => {
        const g = grads((a, b, d) => c.f(a!, b!, d!))([q, k, v], dy);
        for (const t of g) await settle(t);
        for (const t of g) t.dispose();
      },
      { ...options, flops: 3.5 * c.forwardFlops, series: `forward + backward ${c.series}` },
    );
  } finally {
    for (const t of [q, k, v, dy]) t.dispose();
  }
}

async function attentionCases(
  ctx: SuiteContext,
  dims: { heads: number; headDim: number; seqLen: number; causal: boolean },
  seed: number,
): Promise<void> {
  const { heads, headDim, seqLen, causal } = dims;
  // Forward: two L·S·E products per head (halved when causal, as FlashAttention counts).
  await forwardBackward(
    ctx,
    {
      name: 'attention',
      series: causal ? 'causal' : 'full',
      params: { heads, headDim, seqLen, causal },
      shape: [1, heads, seqLen, headDim],
      forwardFlops: (4 * heads * seqLen * seqLen * headDim) / (causal ? 2 : 1),
      f: (q, k, v) => attention(q, k, v, { isCausal: causal }),
    },
    seed,
  );
}

/**
 * Block-sparse attention under a causal sliding window of `window` keys: its backward visits
 * the forward's blocks only, so both grow as N·W rather than N².
 */
async function slidingWindowCases(
  ctx: SuiteContext,
  dims: { heads: number; headDim: number; seqLen: number; window: number },
  seed: number,
): Promise<void> {
  const { heads, headDim, seqLen, window } = dims;
  const mask = createBlockMask(slidingWindow(window), {
    qLen: seqLen,
    kvLen: seqLen,
    blockSize: SPARSE_BLOCK,
  });
  // Attended pairs: query i sees min(i + 1, W) keys.
  let pairs = 0;
  for (let i = 0; i < seqLen; i++) pairs += Math.min(i + 1, window);
  await forwardBackward(
    ctx,
    {
      name: 'block-sparse attention',
      series: `sliding window ${window}`,
      params: { heads, headDim, seqLen, window, blockSize: SPARSE_BLOCK },
      shape: [1, heads, seqLen, headDim],
      forwardFlops: 4 * heads * pairs * headDim,
      f: (q, k, v) => blockSparseAttention(q, k, v, mask),
    },
    seed,
  );
}

/**
 * One AdamW step of the explorer's model (@qkv/train's `INDUCTION_CONFIG` and its training
 * settings) on a batch of repeated sequences; `--quick` shortens the context and the batch.
 */
async function trainStepCase(ctx: SuiteContext): Promise<void> {
  const device = contextDevice(ctx);
  const { lr, embedStd, minPeriod } = INDUCTION_TRAINING;
  const config: TransformerConfig = {
    ...INDUCTION_CONFIG,
    ...(ctx.quick ? { contextLength: 16 } : {}),
  };
  const batch = ctx.quick ? 2 : INDUCTION_TRAINING.batch;
  const params = initParameters(config, { seed: 1, device, embedStd });
  const optimizer = new AdamW(params, { lr, weightDecay: 0 });
  const tokens = repeatedSequences(batch, config.contextLength, config.vocabSize, {
    rng: new Random(5),
    device,
    minPeriod,
  });
  const settle = ctx.settle ?? (async () => {});
  try {
    await ctx.measure(
      'train step (2-layer attention-only, AdamW)',
      { batch, ...config },
      async () => {
        const loss = trainStep(optimizer, (p) => languageModelLoss(config, p, tokens));
        await settle(loss);
        loss.dispose();
      },
    );
  } finally {
    optimizer.dispose();
    for (const p of params.values()) p.dispose();
    tokens.dispose();
  }
}
