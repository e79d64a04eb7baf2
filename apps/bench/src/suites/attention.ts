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
import { formatParams } from '../format.js';
import { loadOrtPeer } from '../peers/onnxruntime.js';
import type { Suite, SuiteContext } from '../suite.js';
import {
  contextDevice,
  isSoftwareDevice,
  maxBindingBytes,
  measureWithPeer,
  normalData,
  sizesFor,
  upload,
} from './common.js';

/**
 * Scaled dot-product attention, softmax(Q·Kᵀ/√E)·V, over sequence length: the cost grows with
 * L·S, so on the dashboard's log-log axes it shows slope 2. `qkv` is the fused `attention`
 * op on its default (`auto`) path, never holding the L x S scores; `qkv materialised`
 * composes matmul, scale, mask, softmax, matmul; the peer is onnxruntime-node's Attention
 * operator (ONNX opset 23). On WebGPU each measurement records its peak GPU memory, inputs
 * included, so the materialised scores show as memory growing with N².
 */
export const attentionSuite: Suite = {
  name: 'attention',
  description:
    'scaled dot-product attention, fused vs materialised, full and causal, D = 64 and 128',
  async run(ctx) {
    const ort = await loadOrtPeer(ctx.log);
    const lengths = sizesFor(ctx, {
      quick: [16, 33],
      small: [64, 128, 256, 512],
      large: [256, 512, 1024, 2048, 4096, 8192, 16384],
    });
    // B·H = 32 on hardware GPUs, the shape of published FlashAttention / SDPA figures.
    const software = isSoftwareDevice(contextDevice(ctx));
    const heads = ctx.quick ? 2 : software ? 4 : 32;
    const headDims = ctx.quick ? [64] : [64, 128];
    for (const headDim of headDims) {
      // CPU-bound devices take D = 128 only up to N = 256, keeping `npm run bench` short.
      const sizes = software && headDim > 64 ? lengths.filter((n) => n <= 256) : lengths;
      for (const causal of [false, true]) {
        for (const [i, seqLen] of sizes.entries()) {
          await attentionCase(
            ctx,
            ort,
            { heads, headDim, seqLen, causal },
            400 + 10 * i + Number(causal) + 2 * headDim,
          );
        }
      }
    }
  },
};

/**
 * The peer runs on one CPU thread: past this many flops a call takes seconds, and a hardware
 * GPU run's largest cases would take hours on it.
 */
const PEER_MAX_FLOPS = 2e10;

/** One benchmark case: heads, head dim, sequence length, causal or not. */
interface AttentionBenchCase {
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
  dims: AttentionBenchCase,
  seed: number,
): Promise<void> {
  const { heads, headDim, seqLen, causal } = dims;
  const shape = [1, heads, seqLen, headDim];
  const size = heads * seqLen * headDim;
  const data = [0, 1, 2].map((j) => normalData(size, seed + 1000 * j));
  const [q, k, v] = data.map((d) => upload(ctx, d, shape)) as [Tensor, Tensor, Tensor];
  let mask: Tensor | undefined;
  const scale = 1 / Math.sqrt(headDim);
  // Two products of L·S·E multiply-adds per head; causal counts half, as FlashAttention's
  // benchmarks do, so TFLOP/s compare across the two.
  const flops = (4 * heads * seqLen * seqLen * headDim) / (causal ? 2 : 1);
  const series = `D=${headDim} ${causal ? 'causal' : 'full'}`;
  // One chart per head size: four lines of three implementations each is what a reader follows.
  const group = `D=${headDim}`;
  const params = { heads, headDim, seqLen, causal };
  try {
    await measureWithPeer(ctx, ort, {
      suite: 'attention',
      params,
      options: { flops, x: 'seqLen', series, group },
      qkv: () => attention(q, k, v, { isCausal: causal }),
      onnx:
        flops > PEER_MAX_FLOPS
          ? undefined
          : {
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
    // The scores of every head are one tensor: past the device's largest binding it cannot run.
    const scoreBytes = 4 * heads * seqLen * seqLen;
    const limit = maxBindingBytes(contextDevice(ctx));
    if (scoreBytes > limit) {
      ctx.log(
        `materialised ${formatParams(params)} skipped: its ${scoreBytes} bytes of scores exceed the device's ${limit}-byte binding limit`,
      );
      return;
    }
    mask = causal ? causalMask(ctx, seqLen) : undefined;
    const settle = ctx.settle ?? (async () => {});
    await ctx.measure(
      'qkv materialised',
      params,
      async () => {
        const out = scope(() => {
          const scores = mul(matmul(q, k, { transposeB: true }), scale);
          const masked = mask ? maskedFill(scores, mask, -Infinity) : scores;
          return matmul(softmax(masked, -1), v);
        });
        await settle(out);
        out.dispose();
      },
      { flops, x: 'seqLen', series, group },
    );
  } finally {
    for (const t of [q, k, v, mask]) t?.dispose();
  }
}
