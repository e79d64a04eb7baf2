import { alibiBias, alibiSlopes, applyRope, ropeInvFreq, sinusoidalTable } from '@qkv/positional';
import { add, randn, scope, type Tensor, tensor } from '@qkv/tensor';
import { type Matrix, type MatrixStack, toMatrix, toStack } from './matrix.js';

/** The sinusoidal table `[length, dim]` of Vaswani et al. 2017, via @qkv/positional. */
export function sinusoidalMatrix(length: number, dim: number): Matrix {
  const t = sinusoidalTable(length, dim);
  try {
    return toMatrix(t);
  } finally {
    t.dispose();
  }
}

export interface RopePair {
  /** Angle per position step for this pair, θ_i = base^(-2i/d). */
  invFreq: number;
  /** The pair (x_i, x_{i+d/2}) of one vector after rotation to positions 0..n-1 (`half` style). */
  points: [number, number][];
}

/**
 * RoPE (Su et al. 2021) seen one dimension pair at a time: the same vector placed at
 * positions 0..n-1 and rotated by @qkv/positional's `applyRope`; pair i turns by θ_i per step.
 */
export function ropePair(headDim: number, pair: number, positions: number, seed: number): RopePair {
  const { invFreq } = ropeInvFreq({ headDim });
  const rotated = scope(() => {
    const v = randn([1, headDim], { seed });
    const repeated = tensor(Array.from({ length: positions }, () => [...v.dataSync()]).flat(), [
      positions,
      headDim,
    ]);
    return toMatrix(applyRope(repeated, { headDim }));
  });
  const half = headDim / 2;
  const points = Array.from(
    { length: positions },
    (_, p) =>
      [rotated.data[p * headDim + pair]!, rotated.data[p * headDim + pair + half]!] as [
        number,
        number,
      ],
  );
  return { invFreq: invFreq[pair]!, points };
}

/**
 * ALiBi's bias `[H, n, n]` (Press et al. 2022) and the per-head slopes: −slope·|i − j|, which
 * under a causal mask is the paper's slope·(j − i) and without one the bidirectional form.
 */
export function alibi(numHeads: number, n: number): { slopes: Float64Array; bias: MatrixStack } {
  const t = alibiBias(numHeads, n, n);
  try {
    return { slopes: alibiSlopes(numHeads), bias: toStack(t) };
  } finally {
    t.dispose();
  }
}

export interface DistanceCurves {
  distances: number[];
  /** q·k/√d for a query `distance` positions after its key, under each scheme (ALiBi: `head`). */
  none: number[];
  sinusoidal: number[];
  rope: number[];
  alibi: number[];
}

/**
 * How the score between a query and a key changes with their distance alone: one random
 * vector used as both q and k (so only position differs), scored at distances 0..max under
 * no positions, added sinusoidal encodings, RoPE, and ALiBi (head `head` of `numHeads`).
 */
export function scoreVsDistance(
  headDim: number,
  maxDistance: number,
  numHeads: number,
  seed: number,
  head = 0,
): DistanceCurves {
  const distances = Array.from({ length: maxDistance + 1 }, (_, d) => d);
  const scale = 1 / Math.sqrt(headDim);
  const dot = (a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number) => {
    let s = 0;
    for (let c = 0; c < headDim; c++) s += a[ai * headDim + c]! * b[bi * headDim + c]!;
    return s * scale;
  };
  return scope(() => {
    const v = randn([1, headDim], { seed });
    const rows = tensor(Array.from({ length: maxDistance + 1 }, () => [...v.dataSync()]).flat(), [
      maxDistance + 1,
      headDim,
    ]);
    const pe = sinusoidalTable(maxDistance + 1, headDim);
    const withPe = add(rows, pe).dataSync();
    const roped: Tensor = applyRope(rows, { headDim });
    const r = roped.dataSync();
    const base = dot(v.dataSync(), 0, v.dataSync(), 0);
    const slope = alibiSlopes(numHeads)[head]!;
    return {
      distances,
      none: distances.map(() => base),
      // Query at position d, key at position 0.
      sinusoidal: distances.map((d) => dot(withPe, d, withPe, 0)),
      rope: distances.map((d) => dot(r, d, r, 0)),
      alibi: distances.map((d) => base - slope * d),
    };
  });
}

/**
 * Cosine similarity between the first `n` rows of a position table `[positions, dim]`
 * (GPT-2's learned `wpe`): entry (i, j) = ⟨p_i, p_j⟩ / (|p_i|·|p_j|), in [-1, 1].
 */
export function cosineSimilarity(table: Matrix, n = table.rows): Matrix {
  const rows = Math.min(n, table.rows);
  const d = table.cols;
  const norms = Array.from({ length: rows }, (_, i) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += table.data[i * d + c]! ** 2;
    return Math.sqrt(s) || 1;
  });
  const data = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += table.data[i * d + c]! * table.data[j * d + c]!;
      const v = s / (norms[i]! * norms[j]!);
      data[i * rows + j] = v;
      data[j * rows + i] = v;
    }
  }
  return { rows, cols: rows, data };
}
