import { Random } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { headScores, repeatedSequences } from './index.js';

describe('repeated sequences', () => {
  it('repeat the first half by default, and a segment of random length to the end with minPeriod', () => {
    const half = repeatedSequences(3, 10, 7, { rng: new Random(1) });
    const rows = Array.from(half.dataSync());
    for (let b = 0; b < 3; b++) {
      const row = rows.slice(b * 10, b * 10 + 10);
      expect(row.slice(5)).toEqual(row.slice(0, 5));
      for (const token of row) expect(token >= 0 && token < 7).toBe(true);
    }
    half.dispose();
    const varied = repeatedSequences(40, 16, 50, { rng: new Random(2), minPeriod: 4 });
    const data = Array.from(varied.dataSync());
    const periods = new Set<number>();
    for (let b = 0; b < 40; b++) {
      const row = data.slice(b * 16, b * 16 + 16);
      // Each row repeats its first p tokens to the end for one p in [4, 8].
      const p = [4, 5, 6, 7, 8].find((q) => row.every((t, i) => i < q || t === row[i - q]));
      expect(p, `row ${b}`).toBeDefined();
      periods.add(p!);
    }
    expect(periods.size).toBeGreaterThan(2);
    varied.dispose();
  });

  it('name a bad length or period', () => {
    expect(() => repeatedSequences(1, 7, 5, { rng: new Random(1) })).toThrow(
      /length 7 must be even/,
    );
    expect(() => repeatedSequences(1, 8, 5, { rng: new Random(1), minPeriod: 5 })).toThrow(
      /minPeriod must be in \[1, 4\], got 5/,
    );
  });
});

describe('headScores', () => {
  it('scores an exact previous-token head 1 and an exact induction head 1', () => {
    const t = 8;
    const pattern = new Float32Array(2 * t * t);
    // Head 0 attends from i to i - 1 (row 0 to itself); head 1 from i >= t/2 to i - t/2 + 1.
    for (let i = 0; i < t; i++) {
      pattern[i * t + Math.max(i - 1, 0)] = 1;
      pattern[t * t + i * t + (i >= t / 2 ? i - t / 2 + 1 : i)] = 1;
    }
    const { previousToken, induction } = headScores(pattern, [1, 2, t, t]);
    expect(previousToken[0]).toBe(1);
    expect(induction[1]).toBe(1);
    expect(previousToken[1]).toBe(0);
    expect(induction[0]).toBe(0);
  });
});
