import { type Device, randn, scope, type Tensor, tensor } from '@qkv/tensor';
import { attend } from './attend.js';
import type { PatternMask } from './masks.js';

export interface Timing {
  n: number;
  /** Median wall time of one attention call, read-back included, in milliseconds. */
  ms: number;
}

/**
 * Time masked attention softmax(Q·Kᵀ/√d + mask)·V for one head of width `headDim` on
 * `device`. The scores are computed densely and then masked, so the time shows how dense
 * attention grows with N²; the share of pairs shows what a sparse kernel could skip.
 * One untimed warm-up run first (GPU pipelines compile on first use).
 */
export async function timeMaskedAttention(
  device: Device,
  mask: PatternMask,
  headDim = 32,
  repeats = 3,
): Promise<Timing> {
  const n = mask.n;
  const [q, k, v, allowed] = scope(() => [
    randn([n, headDim], { seed: 1, device }),
    randn([n, headDim], { seed: 2, device }),
    randn([n, headDim], { seed: 3, device }),
    tensor(mask.allowed, [n, n], { dtype: 'bool', device }),
  ]) as [Tensor, Tensor, Tensor, Tensor];
  const once = async () => {
    const start = performance.now();
    const out = scope(() => attend(q, k, v, allowed).output);
    await out.data();
    out.dispose();
    return performance.now() - start;
  };
  try {
    await once();
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) times.push(await once());
    times.sort((a, b) => a - b);
    return { n, ms: times[Math.floor(times.length / 2)]! };
  } finally {
    for (const t of [q, k, v, allowed]) t.dispose();
  }
}
