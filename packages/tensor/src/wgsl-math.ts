// WGSL text for formulas that more than one WGSL generator needs: the WebGPU backend's
// kernels and @qkv/sparse's compiled score modifiers both reach @qkv/tensor, so the one
// definition lives here, beside the ops whose meaning it implements.

/**
 * An f32 `tanh` function named `name`, for the elementwise `tanh` op and tanh soft-capping
 * (`cap * tanh(s / cap)`, Gemma 2) alike. NaN passes through (a bit test: WGSL lets compilers
 * assume `x == x`); other inputs are clamped to ±10 first, since f32 tanh is exactly ±1 past
 * |x| ≈ 9.01 and a tanh built from exp would give inf / inf = NaN for large scores.
 */
export function wgslTanh(name: string): string {
  return `fn ${name}(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { return x; }
  return tanh(clamp(x, -10.0, 10.0));
}`;
}
