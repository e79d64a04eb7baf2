import { expAll } from './exp';

// Elementwise float32 ops, four lanes at a time with a scalar tail. The op codes are the
// positions of the names in src/kernels/elementwise.ts's tables.

const ONE = f32x4.splat(1);

/** Unary op `op` on four lanes: neg, abs, relu, sqrt, rsqrt, exp, sigmoid, silu. */
function unaryLanes(op: i32, x: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.neg(x);
    case 1:
      return f32x4.abs(x);
    case 2:
      // max(x, 0) that keeps NaN: x where x > 0 or x is NaN, else 0.
      return v128.andnot(x, f32x4.le(x, f32x4.splat(0)));
    case 3:
      return f32x4.sqrt(x);
    case 4:
      return f32x4.div(ONE, f32x4.sqrt(x));
    case 5:
      return expAll(x);
    case 6:
      return f32x4.div(ONE, f32x4.add(ONE, expAll(f32x4.neg(x))));
    default:
      return f32x4.div(x, f32x4.add(ONE, expAll(f32x4.neg(x))));
  }
}

/** Binary op `op` on four lanes: add, sub, mul, div, maximum, minimum (NaN propagates). */
function binaryLanes(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.add(a, b);
    case 1:
      return f32x4.sub(a, b);
    case 2:
      return f32x4.mul(a, b);
    case 3:
      return f32x4.div(a, b);
    case 4:
      return f32x4.max(a, b);
    default:
      return f32x4.min(a, b);
  }
}

/** out[i] = op(x[i]) for n values. */
export function unaryF32(op: i32, x: usize, out: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    v128.store(out + <usize>i * 4, unaryLanes(op, v128.load(x + <usize>i * 4)));
  }
  for (let i = body; i < n; i++) {
    const y = unaryLanes(op, f32x4.splat(load<f32>(x + <usize>i * 4)));
    store<f32>(out + <usize>i * 4, f32x4.extract_lane(y, 0));
  }
}

/**
 * out[r][c] = op(a[r * aRow + c * aCol], b[r * bRow + c * bCol]) for rows x cols values (out
 * contiguous); column strides are 1, or 0 for an operand broadcast along the row.
 */
export function binaryF32(
  op: i32,
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  bCol: i32,
  out: usize,
  rows: i32,
  cols: i32,
): void {
  const body = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const ar = a + <usize>(r * aRow) * 4;
    const br = b + <usize>(r * bRow) * 4;
    const or = out + <usize>(r * cols) * 4;
    const aSplat = f32x4.splat(load<f32>(ar));
    const bSplat = f32x4.splat(load<f32>(br));
    for (let c = 0; c < body; c += 4) {
      const va = aCol ? v128.load(ar + <usize>c * 4) : aSplat;
      const vb = bCol ? v128.load(br + <usize>c * 4) : bSplat;
      v128.store(or + <usize>c * 4, binaryLanes(op, va, vb));
    }
    for (let c = body; c < cols; c++) {
      const va = f32x4.splat(load<f32>(ar + <usize>(c * aCol) * 4));
      const vb = f32x4.splat(load<f32>(br + <usize>(c * bCol) * 4));
      store<f32>(or + <usize>c * 4, f32x4.extract_lane(binaryLanes(op, va, vb), 0));
    }
  }
}
