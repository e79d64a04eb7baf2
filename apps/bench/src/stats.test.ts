import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mbPerSecOf, median, medianAbsoluteDeviation, summarize, tflopsOf } from './stats.js';

describe('stats', () => {
  it('takes the middle sample, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no samples/);
  });

  it('MAD ignores a single outlier that moves the mean', () => {
    const samples = [10, 11, 9, 10, 500];
    expect(median(samples)).toBe(10);
    expect(medianAbsoluteDeviation(samples)).toBe(1);
    expect(summarize(samples)).toEqual({ medianMs: 10, madMs: 1, minMs: 9 });
  });

  it('median has as many samples at or below it as at or above it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        (xs) => {
          const m = median(xs);
          const below = xs.filter((x) => x <= m).length;
          const above = xs.filter((x) => x >= m).length;
          return (
            below >= xs.length / 2 && above >= xs.length / 2 && medianAbsoluteDeviation(xs) >= 0
          );
        },
      ),
    );
  });

  it('derives throughput from the median time', () => {
    // 2·1024³ flops in 1 ms is 2.147 TFLOP/s; 1e6 bytes in 1 ms is 1000 MB/s.
    expect(tflopsOf(2 * 1024 ** 3, 1)).toBeCloseTo(2.147483648, 9);
    expect(mbPerSecOf(1e6, 1)).toBeCloseTo(1000, 9);
  });
});
