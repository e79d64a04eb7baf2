import { attention, grads, Random, type Tensor } from '@qkv/tensor';
import {
  AdamW,
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
 * the log-sum-exp pass, then dQ and dK/dV recomputing probabilities key by key) on the same
 * shapes, and one AdamW step of the explorer's 2-layer attention-only transformer. On WebGPU
 * each case records its peak memory: the backward never holds the L x S scores, so it grows
 * with L, not L².
 */
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
    await trainStepCase(ctx);
  },
};

async function attentionCases(
  ctx: SuiteContext,
  dims: { heads: number; headDim: number; seqLen: number; causal: boolean },
  seed: number,
): Promise<void> {
  const { heads, headDim, seqLen, causal } = dims;
  const shape = [1, heads, seqLen, headDim];
  const size = heads * seqLen * headDim;
  const [q, k, v, dy] = [0, 1, 2, 3].map((j) =>
    upload(ctx, normalData(size, seed + 1000 * j), shape),
  ) as [Tensor, Tensor, Tensor, Tensor];
  // Forward: two L·S·E products per head (halved when causal, as FlashAttention counts).
  // Forward + backward: FlashAttention-2 counts 2.5 forwards for the backward's five products.
  const forwardFlops = (4 * heads * seqLen * seqLen * headDim) / (causal ? 2 : 1);
  const series = causal ? 'causal' : 'full';
  const params = { heads, headDim, seqLen, causal };
  const settle = ctx.settle ?? (async () => {});
  const options = { x: 'seqLen' };
  try {
    await ctx.measure(
      'attention forward',
      params,
      async () => {
        const out = attention(q, k, v, { isCausal: causal });
        await settle(out);
        out.dispose();
      },
      { ...options, flops: forwardFlops, series: `forward ${series}` },
    );
    await ctx.measure(
      'attention forward + backward',
      params,
      async () => {
        const g = grads((a, b, c) => attention(a!, b!, c!, { isCausal: causal }))([q, k, v], dy);
        for (const t of g) await settle(t);
        for (const t of g) t.dispose();
      },
      { ...options, flops: 3.5 * forwardFlops, series: `forward + backward ${series}` },
    );
  } finally {
    for (const t of [q, k, v, dy]) t.dispose();
  }
}

/** One AdamW step of the explorer's model on a batch of repeated sequences. */
async function trainStepCase(ctx: SuiteContext): Promise<void> {
  const device = contextDevice(ctx);
  const config: TransformerConfig = {
    vocabSize: 16,
    dModel: 64,
    numHeads: 4,
    numLayers: 2,
    contextLength: ctx.quick ? 16 : 64,
  };
  const batch = ctx.quick ? 2 : 8;
  const params = initParameters(config, { seed: 1, device });
  const optimizer = new AdamW(params, { lr: 3e-3, weightDecay: 0 });
  const tokens = repeatedSequences(batch, config.contextLength, config.vocabSize, {
    rng: new Random(5),
    device,
    minPeriod: config.contextLength / 4,
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
