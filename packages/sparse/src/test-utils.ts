import type { AttentionSizes } from '@qkv/conformance';
import { Random, type Tensor, tensor } from '@qkv/tensor';
import { expect } from 'vitest';

// Helpers shared by this package's tests: seeded inputs and a plain dense reference.

/** A float32 CPU tensor of standard normal samples from `seed`. */
export function randomTensor(shape: number[], seed: number): Tensor {
  const rng = new Random(seed);
  const n = shape.reduce((a, c) => a * c, 1);
  return tensor(
    Array.from({ length: n }, () => rng.nextNormal()),
    shape,
  );
}

/** Sizes of a test problem: q `[batch, heads, qLen, headDim]`, k / v with `kvHeads`, `kvLen`. */
export type ProblemSize = AttentionSizes;

export interface DenseProblem extends ProblemSize {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  scale: number;
  mask: (b: number, h: number, q: number, k: number) => number | boolean;
  scoreMod?: (b: number, h: number, q: number, k: number, s: number) => number;
}

/**
 * Textbook attention in float64, materialising everything: scores, mask, softmax over the
 * attended keys (max-subtracted), weighted sum. Rows with no attended key are zeros.
 */
export function denseAttention(p: DenseProblem): Float64Array {
  const out = new Float64Array(p.batch * p.heads * p.qLen * p.valueDim);
  const group = p.heads / p.kvHeads;
  for (let b = 0; b < p.batch; b++) {
    for (let h = 0; h < p.heads; h++) {
      const kvh = Math.floor(h / group);
      for (let i = 0; i < p.qLen; i++) {
        const scores = new Float64Array(p.kvLen).fill(-Infinity);
        for (let j = 0; j < p.kvLen; j++) {
          if (!p.mask(b, h, i, j)) continue;
          let s = 0;
          for (let e = 0; e < p.headDim; e++) {
            s +=
              p.q[((b * p.heads + h) * p.qLen + i) * p.headDim + e]! *
              p.k[((b * p.kvHeads + kvh) * p.kvLen + j) * p.headDim + e]!;
          }
          s *= p.scale;
          scores[j] = p.scoreMod ? p.scoreMod(b, h, i, j, s) : s;
        }
        const m = Math.max(...scores);
        if (m === -Infinity) continue;
        const weights = scores.map((s) => Math.exp(s - m));
        const total = weights.reduce((a, c) => a + c, 0);
        for (let j = 0; j < p.kvLen; j++) {
          const w = weights[j]! / total;
          if (w === 0) continue;
          for (let e = 0; e < p.valueDim; e++) {
            out[((b * p.heads + h) * p.qLen + i) * p.valueDim + e]! +=
              w * p.v[((b * p.kvHeads + kvh) * p.kvLen + j) * p.valueDim + e]!;
          }
        }
      }
    }
  }
  return out;
}

/** `|actual - expected| <= atol + rtol |expected|` everywhere, listing the worst misses. */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  const misses: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) misses.push(`[${i}] ${a} vs ${e}`);
  }
  expect(misses.slice(0, 8), `${misses.length} elements differ`).toEqual([]);
}
