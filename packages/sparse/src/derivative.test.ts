import { Random } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { compileJs } from './compile-js.js';
import { derivative } from './derivative.js';
import {
  type Expr,
  f32,
  formatExpr,
  h,
  kvIdx,
  lit,
  param,
  qIdx,
  score,
  tanh,
  toF32,
  where,
} from './expr.js';
import { indexed } from './indexed-tensor.js';
import { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';
import { attentionModsWgsl } from './wgsl.js';

// The symbolic derivative of every node kind against central differences of the compiled
// expression, at random scores and positions away from kinks and steps.

const table = indexed('table', Float32Array.from([0.5, -1.5, 2, 0.25]));

const SMOOTH: Record<string, Expr> = {
  'add / sub / mul': score.mul(score).sub(score.mul(3)).add(h),
  div: score.div(score.mul(score).add(2)).add(f32(1).div(score.add(5))),
  neg: score.neg().mul(toF32(qIdx)),
  abs: score.abs().mul(score),
  tanh: tanh(score.mul(0.7)).mul(3),
  exp: score.mul(-0.5).exp().mul(score),
  'mod of floats': score
    .mul(2.5)
    .mod(f32(0.75))
    .add(f32(7).mod(score.add(4))),
  'min / max': score.max(score.mul(-0.5)).add(score.min(f32(0.2))),
  'where on the score': where(score.gt(0), score.mul(score), score.exp().sub(1)),
  'where on positions': where(kvIdx.le(qIdx), score.mul(2), score.tanh()),
  'table lookups are constants': score.mul(table.at(h)).add(table.at(kvIdx)),
  'param scalars': score.mul(param('temperature', 0.5, 'f32')),
  'softCap then alibi': composeScoreMods(softCap(1.5), alibi(4)),
};

function numeric(e: Expr, at: [number, number, number, number, number], eps: number): number {
  const f = compileJs(e);
  const [b, hh, q, k, s] = at;
  return (f(b, hh, q, k, s + eps) - f(b, hh, q, k, s - eps)) / (2 * eps);
}

describe('derivative', () => {
  it.each(Object.entries(SMOOTH))('%s matches central differences', (_name, e) => {
    const d = compileJs(derivative(e));
    const rng = new Random(7);
    let checked = 0;
    for (let n = 0; n < 60; n++) {
      const at: [number, number, number, number, number] = [
        0,
        n % 3,
        n % 5,
        (n * 7) % 6,
        rng.nextFloat() * 6 - 3,
      ];
      const want = numeric(e, at, 1e-5);
      // A kink or a step within reach (abs, where, mod's jumps) shows as two step sizes
      // disagreeing; those points say nothing about the rule.
      if (Math.abs(numeric(e, at, 1e-3) - want) > 1e-3 * (1 + Math.abs(want))) continue;
      expect(d(...at)).toBeCloseTo(want, 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('folds bias terms: ALiBi, relative and T5 biases have derivative 1', () => {
    for (const mod of [
      alibi(3),
      relativeBias([1, 2, 3], 1),
      t5Bias(new Float32Array(32 * 2), { heads: 2 }),
    ]) {
      expect(formatExpr(derivative(mod))).toBe('1');
    }
  });

  it('integer, bool and position-only expressions have derivative 0', () => {
    for (const e of [lit(3), kvIdx.sub(qIdx), score.gt(0), toF32(h).mul(2), table.at(qIdx)]) {
      expect(formatExpr(derivative(e))).toBe('0');
    }
    // A step in the score: piecewise constant.
    expect(compileJs(derivative(where(score.gt(0), 1, 2)))(0, 0, 0, 0, 0.5)).toBe(0);
  });

  it("follows PyTorch at kinks: abs'(0) = 0, a max / min tie splits the gradient", () => {
    expect(compileJs(derivative(score.abs()))(0, 0, 0, 0, 0)).toBe(0);
    expect(compileJs(derivative(score.max(f32(1))))(0, 0, 0, 0, 1)).toBe(0.5);
    expect(compileJs(derivative(score.min(score)))(0, 0, 0, 0, 2)).toBe(1);
  });

  it('rejects a score-dependent floorDiv, naming the term', () => {
    expect(() => derivative(score.floorDiv(f32(0.5)).add(score))).toThrow(
      /derivative: \(score \/\/ 0\.5\) rounds a score-dependent value down: floorDiv has no derivative/,
    );
    // Integer floorDiv and a floorDiv in a condition are fine.
    expect(() => derivative(where(score.floorDiv(f32(2)).gt(0), score, 0))).not.toThrow();
    expect(() => derivative(score.add(toF32(kvIdx.floorDiv(4))))).not.toThrow();
  });

  it('compiles to WGSL beside the modifier, sharing its tables and params', () => {
    const mod = score
      .mul(table.at(h))
      .add(param('shift', 0.5, 'f32'))
      .tanh();
    const wgsl = attentionModsWgsl({ scoreMod: mod, scoreModGrad: derivative(mod) });
    expect(wgsl.scoreGradFunction).toBe('score_mod_grad');
    expect(wgsl.code).toContain('fn score_mod_grad(score: f32, b: i32, h: i32');
    expect(wgsl.tables.map((t) => t.name)).toEqual(['qkv_table']);
    expect(wgsl.scalars.map((s) => s.name)).toEqual(['qkv_shift']);
  });
});
