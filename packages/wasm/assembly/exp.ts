// exp(x) for four lanes at once, x <= 0 (softmax arguments are shifted by the row maximum).
// Cody-Waite range reduction x = n ln2 + r with |r| <= ln2 / 2, a degree-6 Taylor polynomial
// for e^r (relative error below 2e-7, under float32's half ulp budget for softmax), and 2^n
// built in the exponent bits. Inputs below -87 (including -inf from masks) give exactly 0.

const LOG2E: f32 = Mathf.LOG2E;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.1219444e-4;

/** e^r for r = x - n ln2 (Cody-Waite, two parts of ln2), by the degree-6 Taylor polynomial. */
function expReduced(x: v128, n: v128): v128 {
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.0 / 720.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  return f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
}

export function expNonPositive(x: v128): v128 {
  const underflow = f32x4.lt(x, f32x4.splat(-87));
  const xc = f32x4.max(x, f32x4.splat(-87));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  const p = expReduced(xc, n);
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  const e = f32x4.mul(p, scale);
  return v128.andnot(e, underflow);
}

/** Scalar exp for one value, x <= 0, through the same polynomial. */
export function expScalar(x: f32): f32 {
  return f32x4.extract_lane(expNonPositive(f32x4.splat(x)), 0);
}

/**
 * exp(x) for four lanes over the whole float32 range: the same reduction and polynomial, with
 * 2^n applied as two factors 2^(n/2) so that results past float32's exponent range round to
 * subnormals or overflow to Infinity as float32's own exp does. NaN stays NaN.
 */
export function expAll(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(-104)), f32x4.splat(89));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  const p = expReduced(xc, n);
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const half = i32x4.shr_s(ni, 1);
  const bias = i32x4.splat(127);
  const scale1 = i32x4.shl(i32x4.add(half, bias), 23);
  const scale2 = i32x4.shl(i32x4.add(i32x4.sub(ni, half), bias), 23);
  return f32x4.mul(f32x4.mul(p, scale1), scale2);
}
