import { scaledDotProductAttention } from '@qkv/attention';
import { type Device, hasKernel, randn, scope, type Tensor, tensor } from '@qkv/tensor';
import { composedAttention } from './attend.js';
import type { PatternMask } from './masks.js';

export interface Timing {
  n: number;
  /** Median wall time of one attention call, read-back included, in milliseconds. */
  ms: number;
  /** `fused`: the attention op of @qkv/attention; `composed`: matmul, where, softmax, matmul. */
  path: 'fused' | 'composed';
}

/**
 * Time masked attention softmax(Q·Kᵀ/√d + mask)·V for one head of width `headDim` on
 * `device`: the fused attention op where the device has a kernel for it, else composed
 * from primitive ops. Either way every pair is scored and the mask applied, so the time
 * grows with N²; the share of pairs shows what a block-sparse kernel could skip.
 * One untimed warm-up call first (GPU pipelines compile on first use).
 */
export async function timeMaskedAttention(
  device: Device,
  mask: PatternMask,
  headDim = 32,
  repeats = 3,
): Promise<Timing> {
  const n = mask.n;
  const fused = hasKernel('attention', device.backend);
  const [q, k, v, allowed] = scope(() => [
    randn([n, headDim], { seed: 1, device }),
    randn([n, headDim], { seed: 2, device }),
    randn([n, headDim], { seed: 3, device }),
    tensor(mask.allowed, [n, n], { dtype: 'bool', device }),
  ]) as [Tensor, Tensor, Tensor, Tensor];
  const run = async () => {
    const out = fused
      ? scaledDotProductAttention(q, k, v, { attnMask: allowed })
      : composedAttention(q, k, v, allowed);
    await out.data();
    out.dispose();
  };
  // Browsers coarsen performance.now() (to 0.1 ms in Chromium), so fast calls are timed in
  // batches of `inner` sized from the warm-up to last about 5 ms.
  const batch = async (inner: number) => {
    const start = performance.now();
    for (let i = 0; i < inner; i++) await run();
    return (performance.now() - start) / inner;
  };
  try {
    const warm = await batch(1);
    const inner = Math.min(64, Math.max(1, Math.ceil(5 / Math.max(warm, 0.05))));
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) times.push(await batch(inner));
    times.sort((a, b) => a - b);
    return { n, ms: times[Math.floor(times.length / 2)]!, path: fused ? 'fused' : 'composed' };
  } finally {
    for (const t of [q, k, v, allowed]) t.dispose();
  }
}
