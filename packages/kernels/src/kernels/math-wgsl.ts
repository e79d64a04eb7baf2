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
// tanh saturates to +-1 in f32 beyond |x| = 9; clamping keeps exp-based implementations finite.
fn qkv_tanh(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return tanh(clamp(x, -10.0, 10.0));
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
