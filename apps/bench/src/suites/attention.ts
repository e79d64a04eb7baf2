import {
  attention,
  fromTypedArray,
  maskedFill,
  matmul,
  mul,
  scope,
  softmax,
  type Tensor,
} from '@qkv/tensor';
import { loadOrtPeer } from '../peers/onnxruntime.js';
import type { Suite, SuiteContext } from '../suite.js';
import { contextDevice, measureWithPeer, normalData, sizesFor, upload } from './common.js';

/**
 * Scaled dot-product attention, softmax(Q·Kᵀ/√E)·V, over sequence length: the cost grows with
 * L·S, so on the dashboard's log-log axes it shows slope 2. `qkv` is the fused `attention`
 * op (never holding the L x S scores); `qkv materialised` composes matmul, scale, mask,
 * softmax, matmul; the peer is onnxruntime-node's Attention operator (ONNX opset 23).
 */
export const attentionSuite: Suite = {
  name: 'attention',
  description: 'scaled dot-product attention, fused vs materialised, full and causal',
  async run(ctx) {
    const ort = await loadOrtPeer(ctx.log);
    const lengths = sizesFor(ctx, {
      quick: [16, 33],
      small: [64, 128, 256, 512],
      large: [512, 1024, 2048, 4096],
    });
    const heads = ctx.quick ? 2 : 4;
    const headDim = 64;
    for (const causal of [false, true]) {
      for (const [i, seqLen] of lengths.entries()) {
        await attentionCase(
          ctx,
          ort,
          { heads, headDim, seqLen, causal },
          400 + 10 * i + Number(causal),
        );
      }
    }
  },
};

interface AttentionDims {
  heads: number;
  headDim: number;
  seqLen: number;
  causal: boolean;
}

/** `true` above the diagonal: the keys a query may not see (top-left aligned, as PyTorch). */
function causalMask(ctx: SuiteContext, n: number): Tensor {
  const data = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[i * n + j] = 1;
  return fromTypedArray(data, [n, n], 'bool', contextDevice(ctx));
}

async function attentionCase(
  ctx: SuiteContext,
  ort: Awaited<ReturnType<typeof loadOrtPeer>>,
  dims: AttentionDims,
  seed: number,
): Promise<void> {
  const { heads, headDim, seqLen, causal } = dims;
  const shape = [1, heads, seqLen, headDim];
  const size = heads * seqLen * headDim;
  const data = [0, 1, 2].map((j) => normalData(size, seed + 1000 * j));
  const [q, k, v] = data.map((d) => upload(ctx, d, shape)) as [Tensor, Tensor, Tensor];
  const mask = causal ? causalMask(ctx, seqLen) : undefined;
  const scale = 1 / Math.sqrt(headDim);
  // Two products of L·S·E multiply-adds per head; causal counts half, as FlashAttention's
  // benchmarks do, so TFLOP/s compare across the two.
  const flops = (4 * heads * seqLen * seqLen * headDim) / (causal ? 2 : 1);
  try {
    await measureWithPeer(ctx, ort, {
      suite: 'attention',
      params: { heads, headDim, seqLen, causal },
      options: { flops, x: 'seqLen', series: causal ? 'causal' : 'full' },
      qkv: () => attention(q, k, v, { isCausal: causal }),
      onnx: {
        node: {
          opType: 'Attention',
          opset: 23,
          inputs: [
            { name: 'q', shape },
            { name: 'k', shape },
            { name: 'v', shape },
          ],
          outputs: [{ name: 'y', shape }],
          intAttrs: { is_causal: causal ? 1 : 0 },
        },
        inputs: data,
      },
      // Loose enough for GPU exp() (WGSL allows 3 + 2·|x| ULP), tight enough to catch a wrong
      // mask or scale, which move outputs by whole percent.
      tolerance: { atol: 1e-4, rtol: 1e-3 },
    });
    const settle = ctx.settle ?? (async () => {});
    await ctx.measure(
      'qkv materialised',
      { heads, headDim, seqLen, causal },
      async () => {
        const out = scope(() => {
          const scores = mul(matmul(q, k, { transposeB: true }), scale);
          return matmul(softmax(mask ? maskedFill(scores, mask, -Infinity) : scores, -1), v);
        });
        await settle(out);
        out.dispose();
      },
      { flops, x: 'seqLen', series: causal ? 'causal (materialised)' : 'full (materialised)' },
    );
  } finally {
    for (const t of [q, k, v, mask]) t?.dispose();
  }
}
