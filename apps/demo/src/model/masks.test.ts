import { describe, expect, it } from 'vitest';
import { PATTERN_NAMES, pairShare, patternMask } from './masks.js';

const at = (m: ReturnType<typeof patternMask>, i: number, j: number) =>
  m.allowed[i * m.n + j] === 1;

describe('mask patterns', () => {
  it('dense keeps every pair and causal keeps n(n+1)/2', () => {
    for (const n of [1, 7, 33]) {
      expect(pairShare(patternMask('dense', n))).toBe(1);
      expect(pairShare(patternMask('causal', n))).toBeCloseTo((n + 1) / (2 * n), 12);
    }
  });

  it('sliding window keeps |i - j| <= w and dilated keeps every d-th key within w·d', () => {
    const n = 19;
    const sw = patternMask('sliding window', n, { window: 3 });
    const dil = patternMask('dilated', n, { window: 2, dilation: 3 });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(at(sw, i, j)).toBe(Math.abs(i - j) <= 3);
        expect(at(dil, i, j)).toBe(Math.abs(i - j) <= 6 && Math.abs(i - j) % 3 === 0);
      }
    }
  });

  it('longformer adds global rows and columns; bigbird adds seeded random keys on top', () => {
    const n = 20;
    const lf = patternMask('longformer', n, { window: 1, globalTokens: 2 });
    for (let k = 0; k < n; k++) {
      expect(at(lf, 0, k) && at(lf, 1, k) && at(lf, k, 0) && at(lf, k, 1)).toBe(true);
    }
    expect(at(lf, 10, 13)).toBe(false);
    const bb = patternMask('bigbird', n, { window: 1, globalTokens: 2, randomKeys: 3, seed: 5 });
    lf.allowed.forEach((a, f) => {
      if (a) expect(bb.allowed[f]).toBe(1);
    });
    expect(pairShare(bb)).toBeGreaterThan(pairShare(lf));
    expect(
      patternMask('bigbird', n, { seed: 5, randomKeys: 3, window: 1, globalTokens: 2 }).allowed,
    ).toEqual(bb.allowed);
    expect(
      patternMask('bigbird', n, { seed: 6, randomKeys: 3, window: 1, globalTokens: 2 }).allowed,
    ).not.toEqual(bb.allowed);
  });

  it('strided is causal: the previous `stride` keys plus every stride-th one', () => {
    const n = 17;
    const m = patternMask('strided', n, { stride: 4 });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(at(m, i, j)).toBe(j <= i && (i - j < 4 || (i - j) % 4 === 0));
      }
    }
  });

  it('every pattern lets each query see at least itself', () => {
    for (const name of PATTERN_NAMES) {
      const m = patternMask(name, 12);
      for (let i = 0; i < 12; i++) expect(at(m, i, i), `${name} row ${i}`).toBe(true);
    }
  });
});
