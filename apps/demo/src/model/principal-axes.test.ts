import { Random } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { principalAxes } from './principal-axes.js';

describe('principalAxes', () => {
  it('finds orthonormal axes, the first along the direction of largest spread', () => {
    const rng = new Random(3);
    const dim = 6;
    // Spread 10 along (1, 1, 0, ...)/√2, 3 along e3, 0.1 elsewhere.
    const points = Array.from({ length: 200 }, () => {
      const [a, b] = [10 * rng.nextNormal(), 3 * rng.nextNormal()];
      const p = Float32Array.from({ length: dim }, () => 0.1 * rng.nextNormal());
      p[0]! += a / Math.SQRT2;
      p[1]! += a / Math.SQRT2;
      p[3]! += b;
      return p;
    });
    const axes = principalAxes(points, dim, 3);
    const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, c) => s + x * v[c]!, 0);
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) expect(dot(axes[a]!, axes[b]!)).toBeCloseTo(a === b ? 1 : 0, 6);
    }
    expect(Math.abs(axes[0]![0]!)).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(axes[0]![1]!)).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(axes[1]![3]!)).toBeCloseTo(1, 2);
  });

  it('pads with zero axes when asked for more axes than dimensions', () => {
    const axes = principalAxes([Float32Array.of(1, 2), Float32Array.of(3, 1)], 2, 3);
    expect(axes).toHaveLength(3);
    expect([...axes[2]!]).toEqual([0, 0]);
  });
});
