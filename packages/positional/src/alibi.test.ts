import { QkvError } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { alibiBias, alibiSlopes } from './alibi.js';
import { fixtures, mismatches } from './testing/fixtures.js';
import { expectNoLeaks } from './testing/leaks.js';

expectNoLeaks();

describe('alibiSlopes', () => {
  it('is the geometric sequence 2^(-8/n), 2^(-16/n), ... for powers of two (paper, 8 heads)', () => {
    expect(Array.from(alibiSlopes(8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((k) => 1 / 2 ** k));
    const s16 = alibiSlopes(16);
    for (let i = 0; i < 16; i++) expect(s16[i]).toBeCloseTo(2 ** (-0.5 * (i + 1)), 15);
  });

  it('non-powers of two: slopes of the lower power, then every other slope of twice it', () => {
    const s12 = Array.from(alibiSlopes(12));
    const s8 = Array.from(alibiSlopes(8));
    const s16 = Array.from(alibiSlopes(16));
    expect(s12.slice(0, 8)).toEqual(s8);
    expect(s12.slice(8)).toEqual([s16[0], s16[2], s16[4], s16[6]]);
  });

  for (const f of fixtures.alibi) {
    it(`${f.numHeads} heads match BLOOM's closed form (PyTorch)`, () => {
      expect(mismatches(alibiSlopes(f.numHeads), f.slopes, 0, 1e-14)).toEqual([]);
    });
  }

  it('rejects head counts that are not positive integers', () => {
    expect(() => alibiSlopes(0)).toThrow(QkvError);
    expect(() => alibiSlopes(2.5)).toThrow(/numHeads must be a positive integer, got 2.5/);
  });
});

describe('alibiBias', () => {
  it('is −slope · |query − key| with queries aligned to the last keys (bottom-right)', () => {
    const slopes = alibiSlopes(3);
    const t = alibiBias(3, 2, 5);
    expect(t.shape).toEqual([3, 2, 5]);
    const data = t.dataSync();
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 5; j++) {
          const expected = -slopes[h]! * Math.abs(3 + i - j);
          expect(data[(h * 2 + i) * 5 + j]).toBeCloseTo(expected, 6);
        }
      }
    }
    t.dispose();
  });

  it('is symmetric about the aligned diagonal, from explicit slopes and offsets', () => {
    const t = alibiBias([0.5, 0.25], 3, 3, { queryOffset: 0 });
    expect(Array.from(t.dataSync().slice(0, 9))).toEqual([0, -0.5, -1, -0.5, 0, -0.5, -1, -0.5, 0]);
    expect(Array.from(t.dataSync().slice(9, 12))).toEqual([0, -0.25, -0.5]);
    t.dispose();
  });

  it('rejects bad lengths and slopes', () => {
    expect(() => alibiBias(2, -1, 3)).toThrow(/queryLength must be a non-negative integer, got -1/);
    expect(() => alibiBias([], 1, 1)).toThrow(/slopes must be a non-empty list/);
    expect(() => alibiBias(2, 1, 1, { queryOffset: 0.5 })).toThrow(
      /queryOffset must be an integer/,
    );
  });
});
