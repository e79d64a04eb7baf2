import { describe, expect, it } from 'vitest';
import { PATTERN_NAMES, pairShare, patternMask } from './masks.js';

const at = (m: ReturnType<typeof patternMask>, i: number, j: number) =>
  m.allowed[i * m.n + j] === 1;

describe('mask patterns from @qkv/sparse', () => {
  it('dense keeps every pair and causal keeps n(n+1)/2', () => {
    for (const n of [1, 7, 33]) {
      expect(pairShare(patternMask('dense', n))).toBe(1);
      expect(pairShare(patternMask('causal', n))).toBeCloseTo((n + 1) / (2 * n), 12);
    }
  });

  it('passes the window, stride and global settings through', () => {
    const n = 19;
    const sw = patternMask('sliding window', n, { window: 3 });
    const st = patternMask('strided', n, { stride: 4 });
    const lf = patternMask('longformer', n, { radius: 1, global: 2 });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(at(sw, i, j)).toBe(j <= i && i - j < 3);
        expect(at(st, i, j)).toBe(j <= i && (i - j < 4 || (i - j) % 4 === 0));
        expect(at(lf, i, j)).toBe(Math.abs(i - j) <= 1 || i < 2 || j < 2);
      }
    }
  });

  it('bigbird is seeded: the same seed draws the same random blocks', () => {
    const a = patternMask('bigbird', 32, { seed: 5 });
    expect(patternMask('bigbird', 32, { seed: 5 }).allowed).toEqual(a.allowed);
    expect(patternMask('bigbird', 32, { seed: 6 }).allowed).not.toEqual(a.allowed);
    expect(pairShare(a)).toBeGreaterThan(pairShare(patternMask('longformer', 32)));
  });

  it('every pattern lets each query see at least itself', () => {
    for (const name of PATTERN_NAMES) {
      const m = patternMask(name, 12);
      for (let i = 0; i < 12; i++) expect(at(m, i, i), `${name} row ${i}`).toBe(true);
    }
  });
});
