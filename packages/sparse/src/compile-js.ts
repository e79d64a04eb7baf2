import type { Expr } from './expr.js';

/**
 * An expression compiled for the CPU: bools come back as 0 / 1. Arithmetic runs in float64,
 * which is exact for the integer index arithmetic masks use (|values| < 2^31).
 */
export type CompiledExpr = (b: number, h: number, q: number, k: number, score: number) => number;

type Fn = CompiledExpr;

/** Floored division, Python `//`. */
export function floorDivNumber(a: number, d: number): number {
  return Math.floor(a / d);
}

/** Remainder with the sign of the divisor, Python `%` / `torch.remainder`. */
export function modNumber(a: number, d: number): number {
  return a - d * Math.floor(a / d);
}

/**
 * Compile to nested closures (no `eval` / `new Function`, so it runs under a strict Content
 * Security Policy). Integers are not wrapped to 32 bits as on the GPU: index arithmetic must
 * stay inside the i32 range, which positions and table offsets do.
 */
export function compileJs(e: Expr): CompiledExpr {
  const n = e.node;
  switch (n.op) {
    case 'var':
      switch (n.name) {
        case 'b':
          return (b) => b;
        case 'h':
          return (_b, h) => h;
        case 'qIdx':
          return (_b, _h, q) => q;
        case 'kvIdx':
          return (_b, _h, _q, k) => k;
        case 'score':
          return (_b, _h, _q, _k, s) => s;
      }
      break;
    case 'const':
    case 'param': {
      const v = n.value;
      return () => v;
    }
    case 'at': {
      const { tensor } = n;
      const data = tensor.data;
      const idx = n.indices.map(compileJs);
      if (idx.length === 1) {
        const last = tensor.shape[0]! - 1;
        const i0 = idx[0]!;
        return (b, h, q, k, s) => data[Math.min(Math.max(i0(b, h, q, k, s), 0), last)]!;
      }
      const scratch = new Array<number>(idx.length);
      return (b, h, q, k, s) => {
        for (let d = 0; d < idx.length; d++) scratch[d] = idx[d]!(b, h, q, k, s);
        return data[tensor.offset(scratch)]!;
      };
    }
    case 'unary': {
      const a = compileJs(n.arg);
      switch (n.fn) {
        case 'neg':
          return (b, h, q, k, s) => -a(b, h, q, k, s);
        case 'abs':
          return (b, h, q, k, s) => Math.abs(a(b, h, q, k, s));
        case 'not':
          return (b, h, q, k, s) => (a(b, h, q, k, s) ? 0 : 1);
        case 'tanh':
          return (b, h, q, k, s) => Math.tanh(a(b, h, q, k, s));
        case 'exp':
          return (b, h, q, k, s) => Math.exp(a(b, h, q, k, s));
        case 'toF32':
          return a;
      }
      break;
    }
    case 'binary':
      return compileBinary(n.fn, compileJs(n.a), compileJs(n.b));
    case 'select': {
      const c = compileJs(n.cond);
      const t = compileJs(n.ifTrue);
      const f = compileJs(n.ifFalse);
      return (b, h, q, k, s) => (c(b, h, q, k, s) ? t(b, h, q, k, s) : f(b, h, q, k, s));
    }
  }
  throw new Error('unreachable');
}

function compileBinary(fn: string, x: Fn, y: Fn): Fn {
  switch (fn) {
    case 'add':
      return (b, h, q, k, s) => x(b, h, q, k, s) + y(b, h, q, k, s);
    case 'sub':
      return (b, h, q, k, s) => x(b, h, q, k, s) - y(b, h, q, k, s);
    case 'mul':
      return (b, h, q, k, s) => x(b, h, q, k, s) * y(b, h, q, k, s);
    case 'div':
      return (b, h, q, k, s) => x(b, h, q, k, s) / y(b, h, q, k, s);
    case 'floorDiv':
      return (b, h, q, k, s) => floorDivNumber(x(b, h, q, k, s), y(b, h, q, k, s));
    case 'mod':
      return (b, h, q, k, s) => modNumber(x(b, h, q, k, s), y(b, h, q, k, s));
    case 'min':
      return (b, h, q, k, s) => Math.min(x(b, h, q, k, s), y(b, h, q, k, s));
    case 'max':
      return (b, h, q, k, s) => Math.max(x(b, h, q, k, s), y(b, h, q, k, s));
    case 'lt':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) < y(b, h, q, k, s));
    case 'le':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) <= y(b, h, q, k, s));
    case 'gt':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) > y(b, h, q, k, s));
    case 'ge':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) >= y(b, h, q, k, s));
    case 'eq':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) === y(b, h, q, k, s));
    case 'ne':
      return (b, h, q, k, s) => +(x(b, h, q, k, s) !== y(b, h, q, k, s));
    case 'and':
      return (b, h, q, k, s) => (x(b, h, q, k, s) ? y(b, h, q, k, s) : 0);
    case 'or':
      return (b, h, q, k, s) => (x(b, h, q, k, s) ? 1 : y(b, h, q, k, s));
  }
  throw new Error(`unknown binary op ${fn}`);
}
