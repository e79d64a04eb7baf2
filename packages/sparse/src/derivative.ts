import { fail } from './errors.js';
import { type Expr, f32, floorDiv, formatExpr, toF32, usesVar, where } from './expr.js';

// Symbolic differentiation of a score modifier with respect to `score`, so gradients flow
// through it as they do through FlexAttention's score_mod (Dong et al. 2024): with
// s = scale·q·k and s' = mod(s, b, h, i, j), the backward needs dS = dS' · ∂mod/∂s at the raw
// score. The derivative is an expression of the same language, so it compiles to JavaScript
// and WGSL like the modifier itself.
//
// Conventions follow PyTorch autograd where the function has a kink or a step:
// - abs'(0) = 0 (torch.abs uses sgn);
// - min / max on a tie give each side half (torch.minimum / torch.maximum);
// - where(c, x, y) differentiates the branch it takes; the condition has no derivative;
// - comparisons, logic, integer expressions and table lookups (`.at`, indexed by integers)
//   are piecewise constant in the score: derivative 0. Tables are constants: a learned
//   relative bias gets no gradient through a score modifier;
// - `mod` of floats is `a - d·floor(a / d)` (torch.remainder): ∂/∂a = 1, ∂/∂d = -floor(a / d);
// - `floorDiv` of a score-dependent float has none, as PyTorch's floor_divide (`//`) has
//   none: `derivative` rejects it, naming the term.

const WHERE = 'derivative';

const isConst = (e: Expr, value: number) =>
  e.node.op === 'const' && e.type !== 'bool' && e.node.value === value;
const ZERO = f32(0);
const ONE = f32(1);

// Builders that fold the zeros and ones the rules produce, so the derivative of a bias
// (score + table[...]) is the constant 1 rather than a tree of `+ 0`.

function plus(x: Expr, y: Expr): Expr {
  if (isConst(x, 0)) return toF32(y);
  if (isConst(y, 0)) return toF32(x);
  return x.add(y);
}

function minus(x: Expr, y: Expr): Expr {
  if (isConst(y, 0)) return toF32(x);
  if (isConst(x, 0)) return negate(y);
  return x.sub(y);
}

function times(x: Expr, y: Expr): Expr {
  if (isConst(x, 0) || isConst(y, 0)) return ZERO;
  if (isConst(x, 1)) return toF32(y);
  if (isConst(y, 1)) return toF32(x);
  return toF32(x).mul(toF32(y));
}

function negate(x: Expr): Expr {
  if (x.node.op === 'const') return f32(-x.node.value);
  return toF32(x).neg();
}

/**
 * ∂e/∂score, an f32 expression of `score`, `b`, `h`, `qIdx`, `kvIdx` to be evaluated at the
 * raw score. Throws, naming the term, for a construct without a derivative (see above).
 */
export function derivative(e: Expr): Expr {
  // Bools and integers are piecewise constant; so is anything that never reads the score.
  if (e.type !== 'f32' || !usesVar(e, 'score')) return ZERO;
  const n = e.node;
  switch (n.op) {
    case 'var':
      return ONE;
    case 'const':
    case 'param':
    case 'at':
      return ZERO;
    case 'unary': {
      const da = derivative(n.arg);
      if (isConst(da, 0)) return ZERO;
      switch (n.fn) {
        case 'neg':
          return negate(da);
        case 'toF32':
          return da;
        case 'abs':
          return times(where(n.arg.gt(0), 1, where(n.arg.lt(0), -1, 0)), da);
        case 'tanh':
          // tanh' = 1 - tanh²
          return times(ONE.sub(e.mul(e)), da);
        case 'exp':
          return times(e, da);
        case 'not':
          return ZERO;
      }
      break;
    }
    case 'binary': {
      const { a, b: c } = n;
      const da = derivative(a);
      const dc = derivative(c);
      switch (n.fn) {
        case 'add':
          return plus(da, dc);
        case 'sub':
          return minus(da, dc);
        case 'mul':
          return plus(times(da, c), times(a, dc));
        case 'div':
          // (a / c)' = a'/c - a·c'/c²
          return minus(
            isConst(da, 0) ? ZERO : toF32(da).div(c),
            isConst(dc, 0) ? ZERO : times(a, dc).div(c.mul(c)),
          );
        case 'mod':
          return minus(da, times(floorDiv(a, c), dc));
        case 'min':
        case 'max': {
          const [first, second] = n.fn === 'max' ? [a.gt(c), a.lt(c)] : [a.lt(c), a.gt(c)];
          return where(first, da, where(second, dc, plus(da, dc).mul(f32(0.5))));
        }
        case 'floorDiv':
          fail(
            WHERE,
            `${formatExpr(e)} rounds a score-dependent value down: floorDiv has no derivative (nor has PyTorch's floor_divide, //); keep the score out of it, or write the step with where()`,
          );
          break;
        default:
          // Comparisons and logic are bools, handled above.
          return ZERO;
      }
      break;
    }
    case 'select': {
      const dt = derivative(n.ifTrue);
      const df = derivative(n.ifFalse);
      if (isConst(dt, 0) && isConst(df, 0)) return ZERO;
      return where(n.cond, dt, df);
    }
  }
  return fail(WHERE, `no rule to differentiate ${formatExpr(e)}`);
}
