import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  broadcastShapes,
  broadcastStrides,
  normalizeAxis,
  resolveReshape,
  stridesOf,
} from './shape.js';

describe('shapes', () => {
  it('broadcasts like NumPy and names both shapes when it cannot', () => {
    expect(broadcastShapes('t', [3, 1, 5], [4, 1])).toEqual([3, 4, 5]);
    expect(broadcastShapes('t', [], [2, 2])).toEqual([2, 2]);
    expect(broadcastShapes('t', [0, 1], [1, 3])).toEqual([0, 3]);
    expect(() => broadcastShapes('add', [2, 3], [4, 3])).toThrow(
      'add: shapes [2, 3] and [4, 3] cannot be broadcast together (dimension -2 is 2 vs 4)',
    );
  });

  it('gives zero strides to broadcast dimensions', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(broadcastStrides([3, 1], [2, 3, 5])).toEqual([0, 1, 0]);
  });

  it('normalises axes and rejects out-of-range ones', () => {
    expect(normalizeAxis('t', -1, 3)).toBe(2);
    expect(() => normalizeAxis('sum', 3, 3)).toThrow(
      'sum: axis 3 is out of range for a tensor of rank 3',
    );
    expect(() => normalizeAxis('sum', 0.5, 3)).toThrow(/axis 0.5/);
  });

  it('infers one -1 in reshape targets', () => {
    expect(resolveReshape('t', [2, 6], [3, -1])).toEqual([3, 4]);
    expect(resolveReshape('t', [0, 4], [0, 2, 2])).toEqual([0, 2, 2]);
    expect(() => resolveReshape('reshape', [2, 6], [5, -1])).toThrow(
      'reshape: cannot reshape [2, 6] (12 elements) to [5, -1]',
    );
    expect(() => resolveReshape('reshape', [4], [-1, -1])).toThrow(/more than one -1/);
  });

  it('property: broadcasting is commutative and keeps every input dimension or 1', () => {
    const shape = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 });
    fc.assert(
      fc.property(shape, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (s, ones) => {
        const t = s.map((d, i) => (ones[i] ? 1 : d)).slice(ones[3] ? 1 : 0);
        const out = broadcastShapes('t', s, t);
        expect(broadcastShapes('t', t, s)).toEqual(out);
        expect(out).toEqual(s);
      }),
    );
  });
});
