import { Random } from '@qkv/tensor';

/** A boolean attention mask `[n, n]`, row-major, 1 = query i may attend to key j. */
export interface PatternMask {
  n: number;
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
  /** Half-width w of local windows: |i - j| <= w. */
  window: number;
  /** Gap between attended keys in the dilated window. */
  dilation: number;
  /** Tokens that attend to and are attended by everything (Longformer, BigBird). */
  globalTokens: number;
  /** Random keys per query row (BigBird). */
  randomKeys: number;
  /** Stride of the strided pattern (Child et al. 2019). */
  stride: number;
  seed: number;
}

export const DEFAULT_PATTERN_OPTIONS: PatternOptions = {
  window: 2,
  dilation: 2,
  globalTokens: 1,
  randomKeys: 2,
  stride: 4,
  seed: 0,
};

/**
 * The sparse patterns of the long-context papers, as dense boolean masks for drawing:
 * sliding window and its dilated form and Longformer's global tokens (Beltagy et al. 2020),
 * BigBird's window + global + random keys (Zaheer et al. 2020), and the strided pattern of
 * Sparse Transformers (Child et al. 2019: causal, the previous `stride` keys plus every
 * `stride`-th key).
 */
export function patternMask(
  name: PatternName,
  n: number,
  options: Partial<PatternOptions> = {},
): PatternMask {
  const o = { ...DEFAULT_PATTERN_OPTIONS, ...options };
  const allowed = new Uint8Array(n * n);
  const local = (i: number, j: number) => Math.abs(i - j) <= o.window;
  const global = (i: number, j: number) => i < o.globalTokens || j < o.globalTokens;
  const rule: (i: number, j: number) => boolean = {
    dense: () => true,
    causal: (i: number, j: number) => j <= i,
    'sliding window': local,
    dilated: (i: number, j: number) =>
      Math.abs(i - j) <= o.window * o.dilation && (i - j) % o.dilation === 0,
    longformer: (i: number, j: number) => local(i, j) || global(i, j),
    bigbird: (i: number, j: number) => local(i, j) || global(i, j),
    strided: (i: number, j: number) => j <= i && (i - j < o.stride || (i - j) % o.stride === 0),
  }[name];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) allowed[i * n + j] = rule(i, j) ? 1 : 0;
  if (name === 'bigbird') {
    const rng = new Random(o.seed);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < o.randomKeys; r++) allowed[i * n + (rng.nextUint32() % n)] = 1;
    }
  }
  return { n, allowed };
}

/** Share of the n² query-key pairs a mask computes. */
export function pairShare(mask: PatternMask): number {
  let count = 0;
  for (const a of mask.allowed) count += a;
  return count / (mask.n * mask.n);
}
