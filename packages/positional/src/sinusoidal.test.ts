import { cpu, QkvError } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { sinusoidalTable } from './sinusoidal.js';
import { fixtures, mismatches } from './testing/fixtures.js';
import { expectNoLeaks } from './testing/leaks.js';

expectNoLeaks();

describe('sinusoidalTable', () => {
  it('matches PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(...) in float64', () => {
    for (const [length, dim, base, offset] of [
      [9, 10, 10000, 0],
      [5, 2, 10000, 7],
      [33, 64, 10000, 100],
    ] as const) {
      const t = sinusoidalTable(length, dim, { base, offset });
      expect(t.shape).toEqual([length, dim]);
      const expected: number[] = [];
      for (let p = 0; p < length; p++) {
        for (let j = 0; j < dim; j++) {
          const angle = (p + offset) / base ** ((j - (j % 2)) / dim);
          expected.push(j % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
        }
      }
      // Stored in float32: one rounding.
      expect(mismatches(t.dataSync(), expected, 1e-7, 1e-7)).toEqual([]);
      t.dispose();
    }
  });

  for (const f of fixtures.sinusoidal) {
    it(`matches the PyTorch (exp / log form) table ${f.length} x ${f.dim}, base ${f.base}`, () => {
      const t = sinusoidalTable(f.length, f.dim, { base: f.base, device: cpu() });
      expect(mismatches(t.dataSync(), f.table, 1e-7, 1e-7)).toEqual([]);
      t.dispose();
    });
  }

  it('float16 tables round to half precision', () => {
    const t = sinusoidalTable(4, 6, { dtype: 'float16' });
    expect(t.dtype).toBe('float16');
    const f32 = sinusoidalTable(4, 6);
    expect(mismatches(t.dataSync(), f32.dataSync(), 1e-3, 1e-3)).toEqual([]);
    t.dispose();
    f32.dispose();
  });

  it('rejects odd dims, bad lengths and bases', () => {
    expect(() => sinusoidalTable(4, 7)).toThrow(QkvError);
    expect(() => sinusoidalTable(4, 7)).toThrow(
      /dim must be an even integer >= 2 \(sin \/ cos pairs\), got 7/,
    );
    expect(() => sinusoidalTable(-1, 8)).toThrow(/length must be a non-negative integer, got -1/);
    expect(() => sinusoidalTable(4, 8, { base: 0 })).toThrow(/base must be a finite number > 0/);
    expect(() => sinusoidalTable(4, 8, { offset: -2 })).toThrow(
      /offset must be a non-negative integer/,
    );
  });
});
