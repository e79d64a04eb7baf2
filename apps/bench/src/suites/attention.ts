import {
  add,
  attention,
  type Device,
  getDefaultDevice,
  matmul,
  mul,
  randn,
  softmax,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import type { Suite, SuiteContext } from '../suite.js';

/**
 * Attention forward on the CPU reference backend: the fused `attention` op (one row of scores
 * at a time) against the materialised form (`matmul`, `softmax`, `matmul`, holding L x S
 * scores), causal and not. FLOPs follow FlashAttention's count: 4·B·H·L·S·D for the two
 * products, halved under a causal mask.
 */
export const attentionSuite: Suite = {
  name: 'attention',
  description: 'Fused vs materialised scaled dot-product attention on the CPU, N = 64…1024, D = 64',
  async run(ctx: SuiteContext) {
    const device = getDefaultDevice();
    const sizes = ctx.quick ? [16, 64] : [64, 128, 256, 512, 1024];
    const heads = ctx.quick ? 1 : 4;
    const d = 64;
    for (const n of sizes) {
      for (const causal of [false, true]) {
        await measureSize(ctx, device, { n, d, heads, causal });
      }
    }
  },
};

interface Case {
  n: number;
  d: number;
  heads: number;
  causal: boolean;
}

async function measureSize(ctx: SuiteContext, device: Device, c: Case): Promise<void> {
  const shape = [1, c.heads, c.n, c.d];
  const [q, k, v] = [1, 2, 3].map((seed) => randn(shape, { seed, device }));
  // Additive causal mask for the materialised path, built once outside the timing.
  const mask = c.causal ? causalBias(c.n, device) : undefined;
  const flops = 4 * c.heads * c.n * c.n * c.d * (c.causal ? 0.5 : 1);
  const params = { n: c.n, d: c.d, heads: c.heads, causal: c.causal, backend: device.backend };
  // Large CPU cases take seconds per call: fewer repeats there.
  const repeats = ctx.quick ? 2 : c.n >= 512 ? 3 : 10;
  const options = { flops, repeats, warmup: 1 };
  try {
    await ctx.measure(
      'qkv fused',
      params,
      async () => {
        const out = attention(q!, k!, v!, { isCausal: c.causal });
        await out.data();
        out.dispose();
      },
      options,
    );
    await ctx.measure(
      'qkv materialised',
      params,
      async () => {
        const out = materialised(q!, k!, v!, mask);
        await out.data();
        out.dispose();
      },
      options,
    );
  } finally {
    for (const t of [q, k, v, mask]) t?.dispose();
  }
}

/** softmax(q·kᵀ/sqrt(D) + mask)·v with every intermediate materialised. */
function materialised(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined): Tensor {
  const scores = matmul(q, k, { transposeB: true });
  const scaled = mul(scores, 1 / Math.sqrt(q.shape[q.rank - 1]!));
  scores.dispose();
  const masked = mask ? add(scaled, mask) : scaled;
  if (mask) scaled.dispose();
  const probs = softmax(masked, -1);
  masked.dispose();
  const out = matmul(probs, v);
  probs.dispose();
  return out;
}

/** `[n, n]`: 0 on and below the diagonal, -inf above. */
function causalBias(n: number, device: Device): Tensor {
  const values = Array.from({ length: n * n }, (_, i) =>
    i % n > Math.floor(i / n) ? Number.NEGATIVE_INFINITY : 0,
  );
  return tensor(values, [n, n], { device });
}
