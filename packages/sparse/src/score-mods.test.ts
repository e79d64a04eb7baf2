import { readFileSync } from 'node:fs';
import { alibiSlopes, t5RelativeBucket } from '@qkv/positional';
import { describe, expect, it } from 'vitest';
import { compileJs } from './compile-js.js';
import { b, kvIdx, qIdx, score } from './expr.js';
import { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';

interface Fixtures {
  t5_buckets: {
    bidirectional: boolean;
    num_buckets: number;
    max_distance: number;
    relative_positions: number[];
    buckets: number[];
  }[];
  alibi_slopes: Record<string, number[]>;
}

const fixtures: Fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/sparse-fixtures.json', import.meta.url), 'utf8'),
);

describe('score modifiers', () => {
  it.each(
    fixtures.t5_buckets.map((c) => [c.bidirectional, c.num_buckets, c.max_distance, c] as const),
  )(
    "T5 buckets (@qkv/positional's, which t5Bias uses) match PyTorch (bidirectional %s, %i buckets, max distance %i)",
    (bidirectional, numBuckets, maxDistance, c) => {
      const ours = c.relative_positions.map((r) =>
        t5RelativeBucket(r, { bidirectional, numBuckets, maxDistance }),
      );
      expect(ours).toEqual(c.buckets);
    },
  );

  it('T5 bias looks up [bucket, head] at every distance, beyond maxDistance too', () => {
    const heads = 2;
    const table = Array.from({ length: 32 * heads }, (_, i) => i * 0.25);
    const f = compileJs(t5Bias(table, { heads }));
    for (const [q, k] of [
      [0, 0],
      [5, 1],
      [1, 5],
      [0, 400],
      [900, 3],
    ] as const) {
      for (let h = 0; h < heads; h++) {
        const bucket = t5RelativeBucket(k - q);
        expect(f(0, h, q, k, 1.5)).toBeCloseTo(1.5 + table[bucket * heads + h]!, 6);
      }
    }
  });

  it.each(Object.entries(fixtures.alibi_slopes))(
    "ALiBi slopes (@qkv/positional's, which alibi uses) for %s heads match the reference",
    (n, slopes) => {
      const ours = alibiSlopes(Number(n));
      expect(ours.length).toBe(slopes.length);
      for (const [i, s] of ours.entries()) expect(s).toBeCloseTo(slopes[i]!, 12);
    },
  );

  it('ALiBi adds -m_h |k - q| on both sides of the diagonal', () => {
    const m = alibiSlopes(4);
    const f = compileJs(alibi(4));
    expect(f(0, 2, 7, 3, 0.5)).toBeCloseTo(0.5 - m[2]! * 4, 6);
    expect(f(0, 1, 3, 7, 0.5)).toBeCloseTo(0.5 - m[1]! * 4, 6);
    expect(f(0, 3, 5, 5, 0.5)).toBe(0.5);
  });

  it('soft-cap bounds scores and keeps small ones', () => {
    const f = compileJs(softCap(30));
    expect(f(0, 0, 0, 0, 1e6)).toBeCloseTo(30, 5);
    expect(f(0, 0, 0, 0, -1e6)).toBeCloseTo(-30, 5);
    expect(f(0, 0, 0, 0, 0.3)).toBeCloseTo(30 * Math.tanh(0.01), 9);
  });

  it('relative bias clips distances and picks the head row', () => {
    const table = [0, 1, 2, 3, 4, 10, 11, 12, 13, 14];
    const f = compileJs(relativeBias(table, 2, { heads: 2 }));
    expect(f(0, 0, 5, 5, 0)).toBe(2);
    expect(f(0, 1, 5, 6, 0)).toBe(13);
    expect(f(0, 1, 5, 50, 0)).toBe(14);
    expect(f(0, 0, 50, 5, 0)).toBe(0);
    expect(() => relativeBias([1, 2, 3], 2)).toThrow(/\[5\]/);
  });

  it('composes in order', () => {
    const f = compileJs(composeScoreMods(score.mul(2), score.add(b), score.sub(qIdx.sub(kvIdx))));
    expect(f(3, 0, 9, 4, 1)).toBe(1 * 2 + 3 - 5);
    expect(() => composeScoreMods(qIdx.lt(1))).toThrow(/numeric/);
  });
});
