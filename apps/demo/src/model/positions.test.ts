import { liveTensors, randn } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { expectAllClose } from '../../test/close.js';
import {
  alibi,
  cosineSimilarity,
  ropePair,
  scoreVsDistance,
  sinusoidalMatrix,
} from './positions.js';

describe('positions', () => {
  it('RoPE turns one pair by θ_i per position and keeps its length', () => {
    const before = liveTensors();
    const { invFreq, points } = ropePair(16, 3, 10, 5);
    expect(invFreq).toBeCloseTo(10000 ** (-6 / 16), 10);
    const norms = points.map(([x, y]) => Math.hypot(x, y));
    expectAllClose(
      norms,
      norms.map(() => norms[0]!),
      'pair length',
    );
    for (let p = 1; p < points.length; p++) {
      const [a, b] = [points[p - 1]!, points[p]!];
      const turn = Math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1]);
      expect(turn).toBeCloseTo(invFreq, 4);
    }
    expect(liveTensors()).toBe(before);
  });

  it('scores with RoPE are Σ |pair|² cos(d·θ_i) / √d, with ALiBi the plain score minus slope·d', () => {
    const before = liveTensors();
    const dim = 8;
    const curves = scoreVsDistance(dim, 12, 4, 9);
    const v = randn([dim], { seed: 9 });
    const x = v.dataSync();
    v.dispose();
    const want = curves.distances.map((d) => {
      let s = 0;
      for (let i = 0; i < dim / 2; i++) {
        const norm2 = x[i]! ** 2 + x[i + dim / 2]! ** 2;
        s += norm2 * Math.cos(d * 10000 ** ((-2 * i) / dim));
      }
      return s / Math.sqrt(dim);
    });
    expectAllClose(curves.rope, want, 'RoPE score vs distance');
    expect(curves.none.every((s) => s === curves.none[0])).toBe(true);
    expect(curves.rope[0]).toBeCloseTo(curves.none[0]!, 5);
    // 4 heads: head 0's slope is 2^-2 (Press et al. 2022).
    expectAllClose(
      curves.alibi,
      curves.distances.map((d) => curves.none[0]! - 0.25 * d),
      'ALiBi',
    );
    expect(liveTensors()).toBe(before);
  });

  it('draws the sinusoidal table and ALiBi bias from the library', () => {
    const table = sinusoidalMatrix(5, 4);
    expect(table.data[3 * 4 + 0]).toBeCloseTo(Math.sin(3), 6);
    expect(table.data[3 * 4 + 3]).toBeCloseTo(Math.cos(3 / 100), 6);
    const { slopes, bias } = alibi(2, 3);
    expect([...slopes]).toEqual([2 ** -4, 2 ** -8]);
    expect(bias.data[0 * 9 + 2 * 3 + 0]).toBeCloseTo(-2 * 2 ** -4, 10);
  });

  it('cosine similarity of position vectors: 1 on the diagonal, symmetric, sign of the angle', () => {
    const table = { rows: 3, cols: 2, data: Float32Array.from([1, 0, 0, 2, -3, 0]) };
    const cos = cosineSimilarity(table);
    expect(Array.from(cos.data)).toEqual([1, 0, -1, 0, 1, 0, -1, 0, 1]);
    expect(cosineSimilarity(table, 2).rows).toBe(2);
    // One head: slope 2^-8; the bidirectional form is −slope·|i − j|.
    expectAllClose(
      alibi(1, 3).bias.data,
      [0, 1, 2, 1, 0, 1, 2, 1, 0].map((d) => -d / 256),
      'symmetric ALiBi',
    );
  });
});
