import { matmul } from '@qkv/tensor';
import { loadOrtPeer } from '../peers/onnxruntime.js';
import type { Suite } from '../suite.js';
import { measureWithPeer, normalData, sizesFor, upload } from './common.js';

/** Square products n×n·n×n, and the batched shape of attention scores (Q·Kᵀ per head). */
export const matmulSuite: Suite = {
  name: 'matmul',
  description: 'float32 matrix product, square n×n and batched per-head attention scores',
  async run(ctx) {
    const ort = await loadOrtPeer(ctx.log);
    // 33 and 129 are not multiples of any tile size, so edge handling is timed too.
    const sizes = sizesFor(ctx, {
      quick: [16, 33],
      small: [64, 128, 256, 384, 512],
      large: [256, 512, 1024, 2048, 4096],
    });
    const heads = ctx.quick ? 2 : 8;
    const headDim = 64;
    for (const [i, n] of sizes.entries()) {
      await product(ctx, ort, { batch: 1, m: n, k: n, n }, 'square', 100 + i);
    }
    for (const [i, n] of sizes.entries()) {
      await product(
        ctx,
        ort,
        { batch: heads, m: n, k: headDim, n },
        `heads=${heads} k=${headDim}`,
        200 + i,
      );
    }
  },
};

async function product(
  ctx: Parameters<Suite['run']>[0],
  ort: Awaited<ReturnType<typeof loadOrtPeer>>,
  dims: { batch: number; m: number; k: number; n: number },
  series: string,
  seed: number,
): Promise<void> {
  const { batch, m, k, n } = dims;
  const aShape = [batch, m, k];
  const bShape = [batch, k, n];
  const aData = normalData(batch * m * k, seed);
  const bData = normalData(batch * k * n, seed + 1000);
  const a = upload(ctx, aData, aShape);
  const b = upload(ctx, bData, bShape);
  try {
    await measureWithPeer(ctx, ort, {
      suite: 'matmul',
      params: { batch, m, k, n },
      options: { flops: 2 * batch * m * n * k, x: 'n', series },
      qkv: () => matmul(a, b),
      onnx: {
        node: {
          opType: 'MatMul',
          inputs: [
            { name: 'a', shape: aShape },
            { name: 'b', shape: bShape },
          ],
          outputs: [{ name: 'y', shape: [batch, m, n] }],
        },
        inputs: [aData, bData],
      },
      // float32 sums of k products of N(0,1) values have magnitude ~sqrt(k).
      tolerance: { atol: 1e-4 * Math.sqrt(k), rtol: 1e-4 },
    });
  } finally {
    a.dispose();
    b.dispose();
  }
}
