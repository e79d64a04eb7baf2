import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJs } from './compile-js.js';
import {
  and,
  b,
  f32,
  floorDiv,
  formatExpr,
  h,
  kvIdx,
  lit,
  mod,
  not,
  or,
  param,
  qIdx,
  score,
  usesVar,
  where,
} from './expr.js';
import { indexed } from './indexed-tensor.js';
import { compileBounds } from './interval.js';

describe('mask expressions', () => {
  it('floor-divide and take remainders like Python', () => {
    const f = compileJs(floorDiv(qIdx, kvIdx));
    const g = compileJs(mod(qIdx, kvIdx));
    // Python: -7 // 2 == -4, -7 % 2 == 1, 7 // -2 == -4, 7 % -2 == -1.
    expect([f(0, 0, -7, 2, 0), g(0, 0, -7, 2, 0)]).toEqual([-4, 1]);
    expect([f(0, 0, 7, -2, 0), g(0, 0, 7, -2, 0)]).toEqual([-4, -1]);
  });

  it('types operands and promotes i32 to f32', () => {
    expect(qIdx.add(1).type).toBe('i32');
    expect(qIdx.add(0.5).type).toBe('f32');
    expect(qIdx.div(2).type).toBe('f32');
    expect(qIdx.lt(kvIdx).type).toBe('bool');
    expect(score.add(qIdx).type).toBe('f32');
    expect(where(qIdx.lt(1), 1, f32(2)).type).toBe('f32');
    expect(() => qIdx.lt(1).add(1)).toThrow(/needs numbers/);
    expect(() => and(qIdx, kvIdx)).toThrow(/needs bools/);
    expect(() => not(qIdx)).toThrow(/needs a bool/);
    expect(() => lit(2 ** 40)).toThrow(/i32/);
    expect(() => param('2bad', 1)).toThrow(/letter/);
    expect(() => indexed('t', [1, 2, 3]).at(score as never)).toThrow(/i32/);
    expect(() => indexed('t', [1, 2, 3, 4], [2, 2]).at(qIdx)).toThrow(/2 indices/);
  });

  it('evaluates and / or / not / where and clamps table reads', () => {
    const t = indexed('t', [10, 20, 30, 40, 50, 60], [2, 3]);
    const e = where(or(qIdx.eq(0), not(kvIdx.ge(2))), t.at(b, kvIdx), t.at(h, qIdx).neg());
    const f = compileJs(e);
    expect(f(1, 0, 0, 2, 0)).toBe(60);
    expect(f(0, 1, 5, 9, 0)).toBe(-60);
    expect(f(0, 0, -4, 1, 0)).toBe(20);
    expect(f(9, 0, -4, -3, 0)).toBe(40);
    expect(formatExpr(e)).toContain('t[b, kvIdx]');
    expect(usesVar(e, 'h')).toBe(true);
    expect(usesVar(e, 'score')).toBe(false);
  });

  it('gives interval bounds that contain every value in the box', () => {
    const t = indexed('t', [3, -1, 4, 1, -5, 9, 2, -6]);
    const exprs = [
      qIdx.sub(kvIdx).abs(),
      floorDiv(qIdx.sub(kvIdx), 3),
      mod(qIdx.mul(kvIdx), -5),
      floorDiv(qIdx, kvIdx.add(20)),
      t.at(qIdx.add(kvIdx)).max(t.at(kvIdx)).min(qIdx),
      where(qIdx.lt(kvIdx), qIdx, kvIdx.neg()),
      qIdx.div(kvIdx.add(17)).tanh(),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: exprs.length - 1 }),
        fc.integer({ min: -15, max: 15 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: -15, max: 15 }),
        fc.integer({ min: 0, max: 9 }),
        (i, q0, qn, k0, kn) => {
          const e = exprs[i]!;
          const f = compileJs(e);
          const r = compileBounds(e)({
            b: { lo: 0, hi: 0 },
            h: { lo: 0, hi: 0 },
            q: { lo: q0, hi: q0 + qn },
            k: { lo: k0, hi: k0 + kn },
          });
          for (let q = q0; q <= q0 + qn; q++) {
            for (let k = k0; k <= k0 + kn; k++) {
              const v = f(0, 0, q, k, 0);
              expect(
                v >= r.lo - 1e-12 && v <= r.hi + 1e-12,
                `${e} at ${q},${k}: ${v} in [${r.lo}, ${r.hi}]`,
              ).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });
});
