import { expNonPositive, expScalar } from './exp';

// Row-wise ops over contiguous rows of `width` float32 values: SIMD over four lanes, a scalar
// tail for the last width % 4.

const NEG_INF = -Infinity as f32;

function horizontalSum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    f32x4.extract_lane(v, 2) +
    f32x4.extract_lane(v, 3)
  );
}

function rowMax(row: usize, width: i32): f32 {
  const body = width & ~3;
  let vmax = f32x4.splat(NEG_INF);
  for (let j = 0; j < body; j += 4) vmax = f32x4.max(vmax, v128.load(row + <usize>j * 4));
  let m = max(
    max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
    max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)),
  );
  for (let j = body; j < width; j++) m = max(m, load<f32>(row + <usize>j * 4));
  return m;
}

/** Σ (x - shift)^power for power 1 or 2 over one row. */
function rowSum(row: usize, width: i32, shift: f32, square: bool): f32 {
  const body = width & ~3;
  const vs = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  for (let j = 0; j < body; j += 4) {
    const d = f32x4.sub(v128.load(row + <usize>j * 4), vs);
    acc = f32x4.add(acc, square ? f32x4.mul(d, d) : d);
  }
  let sum = horizontalSum(acc);
  for (let j = body; j < width; j++) {
    const d = load<f32>(row + <usize>j * 4) - shift;
    sum += square ? d * d : d;
  }
  return sum;
}

/**
 * Softmax of each row: exp(x - max) / Σ exp(x - max). A row whose maximum is -inf (every
 * position masked) is all zeros, as the `softmax` op defines.
 */
export function softmaxRows(x: usize, out: usize, rows: i32, width: i32): void {
  const body = width & ~3;
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>(r * width) * 4;
    const dst = out + <usize>(r * width) * 4;
    const m = rowMax(src, width);
    if (m === NEG_INF) {
      memory.fill(dst, 0, <usize>width * 4);
      continue;
    }
    const shift = f32x4.splat(m);
    let acc = f32x4.splat(0);
    for (let j = 0; j < body; j += 4) {
      const p = expNonPositive(f32x4.sub(v128.load(src + <usize>j * 4), shift));
      v128.store(dst + <usize>j * 4, p);
      acc = f32x4.add(acc, p);
    }
    let sum = horizontalSum(acc);
    for (let j = body; j < width; j++) {
      const p = expScalar(load<f32>(src + <usize>j * 4) - m);
      store<f32>(dst + <usize>j * 4, p);
      sum += p;
    }
    const inv = f32x4.splat(1 / sum);
    for (let j = 0; j < body; j += 4) {
      v128.store(dst + <usize>j * 4, f32x4.mul(v128.load(dst + <usize>j * 4), inv));
    }
    for (let j = body; j < width; j++) {
      store<f32>(dst + <usize>j * 4, load<f32>(dst + <usize>j * 4) / sum);
    }
  }
}

/**
 * layerNorm (`center`: (x - mean) / sqrt(biased var + eps)) or rmsNorm (x / sqrt(mean(x²) +
 * eps)) of each row, then `* weight + bias` (pointer 0 = absent). Two passes: the mean, then
 * squares of the centred values, which keeps float32 variance accurate.
 */
export function normRows(
  x: usize,
  out: usize,
  rows: i32,
  width: i32,
  weight: usize,
  bias: usize,
  eps: f32,
  center: bool,
): void {
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>(r * width) * 4;
    const dst = out + <usize>(r * width) * 4;
    const mean: f32 = center ? rowSum(src, width, 0, false) / <f32>width : 0;
    const inverse: f32 = 1 / Mathf.sqrt(rowSum(src, width, mean, true) / <f32>width + eps);
    for (let j = 0; j < width; j++) {
      let y = (load<f32>(src + <usize>j * 4) - mean) * inverse;
      if (weight !== 0) y *= load<f32>(weight + <usize>j * 4);
      if (bias !== 0) y += load<f32>(bias + <usize>j * 4);
      store<f32>(dst + <usize>j * 4, y);
    }
  }
}
