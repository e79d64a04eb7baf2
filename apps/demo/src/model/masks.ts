import {
  bigBird,
  causal,
  dilatedSlidingWindow,
  type Expr,
  fullMask,
  longformer,
  materializeMask,
  slidingWindow,
  sparseTransformerStrided,
} from '@qkv/sparse';

/** A boolean attention mask `[n, n]`, row-major, 1 = query i may attend to key j. */
export interface PatternMask {
  n: number;
  /** The @qkv/sparse mask expression it was drawn from. */
  expr: Expr;
  allowed: Uint8Array;
}

export const PATTERN_NAMES = [
  'dense',
  'causal',
  'sliding window',
  'dilated',
  'longformer',
  'bigbird',
  'strided',
] as const;
export type PatternName = (typeof PATTERN_NAMES)[number];

export interface PatternOptions {
  /** Keys per local window (the query and the ones before it). */
  window: number;
  /** Gap between attended keys in the dilated window. */
  dilation: number;
  /** Longformer's symmetric window radius. */
  radius: number;
  /** Tokens (Longformer) or blocks (BigBird) that attend to and are attended by everything. */
  global: number;
  /** BigBird's block edge and random key blocks per query block. */
  blockSize: number;
  randomBlocks: number;
  /** Stride of the strided pattern. */
  stride: number;
  seed: number;
}

export const DEFAULT_PATTERN_OPTIONS: PatternOptions = {
  window: 4,
  dilation: 2,
  radius: 2,
  global: 1,
  blockSize: 2,
  randomBlocks: 1,
  stride: 4,
  seed: 0,
};

/** The @qkv/sparse expression for a pattern at sequence length n. */
export function patternExpr(
  name: PatternName,
  n: number,
  options: Partial<PatternOptions> = {},
): Expr {
  const o = { ...DEFAULT_PATTERN_OPTIONS, ...options };
  switch (name) {
    case 'dense':
      return fullMask();
    case 'causal':
      return causal();
    case 'sliding window':
      return slidingWindow(o.window);
    case 'dilated':
      return dilatedSlidingWindow({ window: o.window, dilation: o.dilation });
    case 'longformer':
      return longformer({ radius: o.radius, global: o.global });
    case 'bigbird':
      return bigBird({
        blockSize: o.blockSize,
        seqLen: n,
        globalBlocks: o.global,
        randomBlocks: o.randomBlocks,
        seed: o.seed,
      });
    case 'strided':
      return sparseTransformerStrided(o.stride);
  }
}

/**
 * The sparse patterns of the long-context papers, from @qkv/sparse, as dense masks for
 * drawing: causal sliding window, its dilated form and Longformer's window + global tokens
 * (Beltagy et al. 2020), BigBird's block window + global + random blocks (Zaheer et al.
 * 2020), and Sparse Transformers' strided pattern (Child et al. 2019).
 */
export function patternMask(
  name: PatternName,
  n: number,
  options: Partial<PatternOptions> = {},
): PatternMask {
  const expr = patternExpr(name, n, options);
  return { n, expr, allowed: materializeMask(expr, n, n) };
}

/** Share of the n² query-key pairs a mask computes. */
export function pairShare(mask: PatternMask): number {
  let count = 0;
  for (const a of mask.allowed) count += a;
  return count / (mask.n * mask.n);
}
