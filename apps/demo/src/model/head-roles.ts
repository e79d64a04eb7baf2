import { QkvError, Random } from '@qkv/tensor';
import { type MatrixStack, stackAt } from './matrix.js';

/** What one head does, measured on its attention probabilities. */
export interface HeadRole {
  layer: number;
  head: number;
  /** Mean weight a query puts on the token just before it (queries 1..L-1). */
  previousToken: number;
  /** Mean weight a query puts on the first token (queries 1..L-1; query 0 has no choice). */
  firstToken: number;
  /**
   * On a random sequence repeated twice, the mean weight from each token's second occurrence
   * to the token after its first occurrence (Olsson et al. 2022's induction pattern), when
   * the probe was run.
   */
  induction?: number;
}

/** Mean of a[i, i - 1] over queries i = 1..L-1, per head of `[H, L, L]` attention. */
export function previousTokenScores(attention: MatrixStack): number[] {
  return perHead(attention, (a, L) => mean(L - 1, (k) => a[(k + 1) * L + k]!));
}

/** Mean of a[i, 0] over queries i = 1..L-1, per head. */
export function firstTokenShares(attention: MatrixStack): number[] {
  return perHead(attention, (a, L) => mean(L - 1, (k) => a[(k + 1) * L]!));
}

/**
 * The induction probe's input: `prefix` tokens (e.g. a BOS), then `length` random token ids
 * from [low, high), then the same `length` ids again. Seeded, so the page and a test agree.
 */
export function repeatedRandomTokens(
  length: number,
  low: number,
  high: number,
  seed: number,
  prefix: readonly number[] = [],
): number[] {
  if (!(Number.isInteger(length) && length >= 2))
    throw new QkvError(`repeatedRandomTokens: length must be an integer >= 2, got ${length}`);
  if (!(high - low >= 2))
    throw new QkvError(`repeatedRandomTokens: the range [${low}, ${high}) needs 2 or more ids`);
  const random = new Random(seed);
  const half = Array.from({ length }, () => low + Math.floor(random.nextFloat() * (high - low)));
  return [...prefix, ...half, ...half];
}

/**
 * Induction score per head on attention over `prefix + r + r` (r of length `length`): the
 * mean of a[p + length + t, p + t + 1] for t = 0..length-2, the weight from the second
 * occurrence of r[t] to the token that followed its first occurrence.
 */
export function inductionScores(attention: MatrixStack, length: number, prefix = 0): number[] {
  if (attention.rows !== prefix + 2 * length)
    throw new QkvError(
      `inductionScores: attention has ${attention.rows} queries, expected ${prefix} + 2·${length}`,
    );
  return perHead(attention, (a, L) =>
    mean(length - 1, (t) => a[(prefix + length + t) * L + prefix + t + 1]!),
  );
}

/** Heads ordered by a score, highest first. */
export function rankHeads(
  roles: readonly HeadRole[],
  by: 'induction' | 'previousToken' | 'firstToken',
): HeadRole[] {
  return [...roles].sort((a, b) => (b[by] ?? -1) - (a[by] ?? -1));
}

function perHead(attention: MatrixStack, f: (a: Float32Array, L: number) => number): number[] {
  if (attention.rows !== attention.cols)
    throw new QkvError(
      `head roles need self-attention [H, L, L], got [${attention.count}, ${attention.rows}, ${attention.cols}]`,
    );
  return Array.from({ length: attention.count }, (_, h) =>
    f(stackAt(attention, h).data, attention.rows),
  );
}

function mean(n: number, at: (k: number) => number): number {
  if (n <= 0) return Number.NaN;
  let s = 0;
  for (let k = 0; k < n; k++) s += at(k);
  return s / n;
}
