import { wgslTanh } from '@qkv/tensor';

/** WGSL math that the language lacks, shared by the elementwise formulas. */
export const MATH_WGSL = /* wgsl */ `
// erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), odd-extended to negative x.
fn qkv_erf(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-ax * ax);
  return select(y, -y, x < 0.0);
}
${wgslTanh('qkv_tanh')}
// sin and cos to about 1 ulp for |x| < 1e5: the builtins only promise 2^-11 absolute error.
// Cody-Waite reduction by pi/2 (Cephes' split constants, doubled) and Cephes sinf / cosf
// minimax polynomials on [-pi/4, pi/4]; the quadrant picks sign and function.
fn qkv_sincos(x: f32) -> vec2f {
  let q = round(x * 0.6366197723675814);
  var r = x - q * 1.5703125;
  r = r - q * 4.837512969970703125e-4;
  r = r - q * 7.54978995489188216e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let n = u32(i32(q) & 3);
  let sine = select(select(select(-c, -s, n == 2u), c, n == 1u), s, n == 0u);
  let cosine = select(select(select(s, -c, n == 2u), -s, n == 1u), c, n == 0u);
  return vec2f(sine, cosine);
}
// a^b with the real-valued answers of JavaScript's ** (negative bases with integer exponents).
fn qkv_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nan(); }
  if (a == 0.0) { return select(pos_inf(), 0.0, b > 0.0); }
  let m = pow(abs(a), b);
  if (a > 0.0) { return m; }
  if (floor(b) != b) { return nan(); }
  if (abs(b) < 16777216.0 && (i32(b) & 1) == 1) { return -m; }
  return m;
}
`;
