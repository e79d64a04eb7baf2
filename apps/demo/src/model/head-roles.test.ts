import { describe, expect, it } from 'vitest';
import {
  firstTokenShares,
  inductionScores,
  previousTokenScores,
  rankHeads,
  repeatedRandomTokens,
} from './head-roles.js';
import type { MatrixStack } from './matrix.js';

/** `[H, L, L]` attention where head h's row i is `rowOf(h, i)` (each a distribution). */
function stack(heads: number, L: number, rowOf: (h: number, i: number) => number[]): MatrixStack {
  const data = new Float32Array(heads * L * L);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < L; i++) data.set(rowOf(h, i), (h * L + i) * L);
  return { count: heads, rows: L, cols: L, data };
}

const oneHot = (L: number, j: number) => Array.from({ length: L }, (_, k) => (k === j ? 1 : 0));

describe('head roles', () => {
  it('scores a previous-token head 1, a first-token head 0 on that role, and the reverse', () => {
    const L = 7;
    const a = stack(2, L, (h, i) => oneHot(L, h === 0 ? Math.max(0, i - 1) : 0));
    expect(previousTokenScores(a)).toEqual([1, 1 / (L - 1)]);
    expect(firstTokenShares(a)).toEqual([1 / (L - 1), 1]);
  });

  it('scores an induction head 1 and a previous-token head 0 on the repeated sequence', () => {
    const T = 6;
    const prefix = 1;
    const L = prefix + 2 * T;
    // Induction: in the second half, position p + T + t attends to p + t + 1.
    const a = stack(2, L, (h, i) => {
      const t = i - prefix - T;
      if (h === 0 && t >= 0 && t < T - 1) return oneHot(L, prefix + t + 1);
      return oneHot(L, Math.max(0, i - 1));
    });
    const scores = inductionScores(a, T, prefix);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBe(0);
    expect(() => inductionScores(a, T + 1, prefix)).toThrow(/expected 1 \+ 2·7/);
  });

  it('builds a seeded repeated random sequence and ranks heads', () => {
    const ids = repeatedRandomTokens(5, 100, 110, 3, [9]);
    expect(ids).toHaveLength(11);
    expect(ids[0]).toBe(9);
    expect(ids.slice(1, 6)).toEqual(ids.slice(6));
    expect(ids.slice(1).every((id) => id >= 100 && id < 110)).toBe(true);
    expect(repeatedRandomTokens(5, 100, 110, 3, [9])).toEqual(ids);
    expect(() => repeatedRandomTokens(1, 0, 10, 1)).toThrow(/length must be an integer >= 2/);
    const ranked = rankHeads(
      [
        { layer: 0, head: 0, previousToken: 0.1, firstToken: 0.2, induction: 0.3 },
        { layer: 1, head: 2, previousToken: 0.5, firstToken: 0.1, induction: 0.9 },
      ],
      'induction',
    );
    expect(ranked.map((r) => `${r.layer}.${r.head}`)).toEqual(['1.2', '0.0']);
  });
});
