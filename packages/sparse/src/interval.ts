import type { Expr } from './expr.js';

/**
 * Interval arithmetic over the mask language: given ranges for `b`, `h`, `qIdx` and `kvIdx`
 * (a block of the score matrix), an expression's value lies in `[lo, hi]`. Bools are
 * intervals over {0, 1}: [1, 1] true everywhere, [0, 0] false everywhere, [0, 1] unknown.
 * The bounds are sound (never too narrow), so a block called full or empty really is; they
 * may be loose (an operand repeated in correlated positions), which only costs a block
 * being called partial and evaluated per element.
 */
export interface Interval {
  lo: number;
  hi: number;
}

/** Inclusive ranges of each index over a block. */
export interface Box {
  b: Interval;
  h: Interval;
  q: Interval;
  k: Interval;
}

export type CompiledBounds = (box: Box) => Interval;

const UNBOUNDED: Interval = { lo: -Infinity, hi: Infinity };
const UNKNOWN_BOOL: Interval = { lo: 0, hi: 1 };

function hull(values: number[]): Interval {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return UNBOUNDED;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { lo, hi };
}

const truth = (always: boolean, never: boolean): Interval =>
  always ? { lo: 1, hi: 1 } : never ? { lo: 0, hi: 0 } : UNKNOWN_BOOL;

/** Compile an expression into a function from a block's index ranges to its value range. */
export function compileBounds(e: Expr): CompiledBounds {
  const n = e.node;
  switch (n.op) {
    case 'var':
      switch (n.name) {
        case 'b':
          return (box) => box.b;
        case 'h':
          return (box) => box.h;
        case 'qIdx':
          return (box) => box.q;
        case 'kvIdx':
          return (box) => box.k;
        case 'score':
          return () => UNBOUNDED;
      }
      break;
    case 'const':
    case 'param': {
      const point = { lo: n.value, hi: n.value };
      return () => point;
    }
    case 'at': {
      const { tensor } = n;
      const idx = n.indices.map(compileBounds);
      return (box) => {
        // Clamped index ranges give a hull of flat offsets that covers every element read.
        let lo = 0;
        let hi = 0;
        for (let d = 0; d < idx.length; d++) {
          const r = idx[d]!(box);
          const last = tensor.shape[d]! - 1;
          const stride = tensor.strides[d]!;
          lo += Math.min(Math.max(r.lo, 0), last) * stride;
          hi += Math.min(Math.max(r.hi, 0), last) * stride;
        }
        const [min, max] = tensor.rangeMinMax(lo, hi);
        return { lo: min, hi: max };
      };
    }
    case 'unary': {
      const a = compileBounds(n.arg);
      switch (n.fn) {
        case 'neg':
          return (box) => {
            const r = a(box);
            return { lo: -r.hi, hi: -r.lo };
          };
        case 'abs':
          return (box) => {
            const r = a(box);
            if (r.lo >= 0) return r;
            if (r.hi <= 0) return { lo: -r.hi, hi: -r.lo };
            return { lo: 0, hi: Math.max(-r.lo, r.hi) };
          };
        case 'not':
          return (box) => {
            const r = a(box);
            return { lo: 1 - r.hi, hi: 1 - r.lo };
          };
        case 'tanh':
          return (box) => {
            const r = a(box);
            return { lo: Math.tanh(r.lo), hi: Math.tanh(r.hi) };
          };
        case 'exp':
          return (box) => {
            const r = a(box);
            return { lo: Math.exp(r.lo), hi: Math.exp(r.hi) };
          };
        case 'toF32':
          return a;
      }
      break;
    }
    case 'binary':
      return binaryBounds(n.fn, compileBounds(n.a), compileBounds(n.b), n.a.type === 'i32');
    case 'select': {
      const c = compileBounds(n.cond);
      const t = compileBounds(n.ifTrue);
      const f = compileBounds(n.ifFalse);
      return (box) => {
        const r = c(box);
        if (r.lo === 1) return t(box);
        if (r.hi === 0) return f(box);
        const x = t(box);
        const y = f(box);
        return { lo: Math.min(x.lo, y.lo), hi: Math.max(x.hi, y.hi) };
      };
    }
  }
  throw new Error('unreachable');
}

function binaryBounds(
  fn: string,
  x: CompiledBounds,
  y: CompiledBounds,
  integer: boolean,
): CompiledBounds {
  switch (fn) {
    case 'add':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return { lo: p.lo + r.lo, hi: p.hi + r.hi };
      };
    case 'sub':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return { lo: p.lo - r.hi, hi: p.hi - r.lo };
      };
    case 'mul':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return hull([p.lo * r.lo, p.lo * r.hi, p.hi * r.lo, p.hi * r.hi]);
      };
    case 'div':
    case 'floorDiv':
      return (box) => {
        const p = x(box);
        const r = y(box);
        // a / d is monotone in each argument while d keeps one sign: extremes at corners.
        if (r.lo <= 0 && r.hi >= 0) return UNBOUNDED;
        const round = fn === 'floorDiv' ? Math.floor : (v: number) => v;
        return hull([p.lo / r.lo, p.lo / r.hi, p.hi / r.lo, p.hi / r.hi].map(round));
      };
    case 'mod':
      return (box) => modBounds(x(box), y(box), integer);
    case 'min':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return { lo: Math.min(p.lo, r.lo), hi: Math.min(p.hi, r.hi) };
      };
    case 'max':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return { lo: Math.max(p.lo, r.lo), hi: Math.max(p.hi, r.hi) };
      };
    case 'lt':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return truth(p.hi < r.lo, p.lo >= r.hi);
      };
    case 'le':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return truth(p.hi <= r.lo, p.lo > r.hi);
      };
    case 'gt':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return truth(p.lo > r.hi, p.hi <= r.lo);
      };
    case 'ge':
      return (box) => {
        const p = x(box);
        const r = y(box);
        return truth(p.lo >= r.hi, p.hi < r.lo);
      };
    case 'eq':
    case 'ne':
      return (box) => {
        const p = x(box);
        const r = y(box);
        const always = p.lo === p.hi && r.lo === r.hi && p.lo === r.lo;
        const never = p.hi < r.lo || r.hi < p.lo;
        return fn === 'eq' ? truth(always, never) : truth(never, always);
      };
    case 'and':
      return (box) => {
        const p = x(box);
        if (p.hi === 0) return p;
        const r = y(box);
        return { lo: Math.min(p.lo, r.lo), hi: Math.min(p.hi, r.hi) };
      };
    case 'or':
      return (box) => {
        const p = x(box);
        if (p.lo === 1) return p;
        const r = y(box);
        return { lo: Math.max(p.lo, r.lo), hi: Math.max(p.hi, r.hi) };
      };
  }
  throw new Error(`unknown binary op ${fn}`);
}

/** Floored remainder: within one period it is a shift of the dividend, else [0, |d|). */
function modBounds(p: Interval, r: Interval, integer: boolean): Interval {
  if (r.lo <= 0 && r.hi >= 0) return UNBOUNDED;
  if (r.lo === r.hi && Number.isFinite(p.lo) && Number.isFinite(p.hi)) {
    const d = r.lo;
    const period = Math.floor(p.lo / d);
    if (period === Math.floor(p.hi / d)) {
      const shift = d * period;
      const a = p.lo - shift;
      const c = p.hi - shift;
      return { lo: Math.min(a, c), hi: Math.max(a, c) };
    }
  }
  const step = integer ? 1 : 0;
  return r.lo > 0 ? { lo: 0, hi: r.hi - step } : { lo: r.lo + step, hi: 0 };
}
