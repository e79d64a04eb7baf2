import { scaledDotProductAttention } from '@qkv/attention';
import { blockSparseAttention, emptyStats } from '@qkv/sparse';
import { cpu, type Device, hasKernel, randn, scope, type Tensor, tensor } from '@qkv/tensor';
import { composedAttention } from './attend.js';
import type { PatternMask } from './masks.js';

export interface Timing {
  n: number;
  /** Median wall time of one attention call, read-back included, in milliseconds. */
  ms: number;
  /**
   * `fused`: the attention op of @qkv/attention; `composed`: matmul, where, softmax, matmul;
   * `block-sparse`: @qkv/sparse's block-sparse attention.
   */
  path: 'fused' | 'composed' | 'block-sparse';
  /** Share of the n² q·k products computed, where the kernel counts them. */
  scored?: number;
}

/**
 * Median time of `run` over `repeats` samples after an untimed warm-up call (GPU pipelines
 * compile on first use). Browsers coarsen performance.now() (to 0.1 ms in Chromium), so
 * calls are timed in batches, grown until one batch lasts at least 5 ms.
 */
async function medianTime(run: () => Promise<void>, repeats: number): Promise<number> {
  const batch = async (inner: number) => {
    const start = performance.now();
    for (let i = 0; i < inner; i++) await run();
    return performance.now() - start;
  };
  await batch(1);
  let inner = 1;
  while (inner < 1 << 16 && (await batch(inner)) < 5) inner *= 4;
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push((await batch(inner)) / inner);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Seeded q, k, v `[...lead, n, headDim]` on a device. */
function qkv(n: number, headDim: number, device: Device, lead: number[] = []): Tensor[] {
  return [1, 2, 3].map((seed) => randn([...lead, n, headDim], { seed, device }));
}

/**
 * Time masked attention softmax(Q·Kᵀ/√d + mask)·V for one head of width `headDim` on
 * `device`: the fused attention op where the device has a kernel for it, else composed
 * from primitive ops, with the mask as a dense `[N, N]` bool tensor.
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
    ...qkv(n, headDim, device),
    tensor(mask.allowed, [n, n], { dtype: 'bool', device }),
  ]) as [Tensor, Tensor, Tensor, Tensor];
  try {
    const ms = await medianTime(async () => {
      const out = fused
        ? scaledDotProductAttention(q, k, v, { attnMask: allowed })
        : composedAttention(q, k, v, allowed);
      await out.data();
      out.dispose();
    }, repeats);
    return { n, ms, path: fused ? 'fused' : 'composed' };
  } finally {
    for (const t of [q, k, v, allowed]) t.dispose();
  }
}

/**
 * Time @qkv/sparse's block-sparse attention on the CPU backend: only the key blocks the
 * mask touches are visited (`blockSize` square blocks), so sparse patterns cost O(N).
 */
export async function timeBlockSparse(
  mask: PatternMask,
  headDim = 32,
  repeats = 3,
  blockSize = 16,
): Promise<Timing> {
  const n = mask.n;
  const [q, k, v] = scope(() => qkv(n, headDim, cpu(), [1])) as [Tensor, Tensor, Tensor];
  const stats = emptyStats();
  try {
    const ms = await medianTime(async () => {
      const out = blockSparseAttention(q, k, v, mask.expr, { blockSize });
      await out.data();
      out.dispose();
    }, repeats);
    blockSparseAttention(q, k, v, mask.expr, { blockSize, stats }).dispose();
    return { n, ms, path: 'block-sparse', scored: stats.scoresComputed / (n * n) };
  } finally {
    for (const t of [q, k, v]) t.dispose();
  }
}
