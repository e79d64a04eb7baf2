import { expNonPositive, expScalar } from './exp';

// The online softmax step shared by the forward tiles (attention.ts) and the row log-sum-exp
// (attention-backward.ts): scores arrive a block at a time, and a running max m and sum
// l = Σ exp(x - m) per row replace a second pass (Milakov & Gimelshein, "Online normalizer
// calculation for softmax", 2018).

export const NEG_INF = -Infinity as f32;

/**
 * Fold a row of `cols` scores (a multiple of 4) into the running max at `maxAt` and sum at
 * `sumAt`. With `keep` the row is left holding exp(x - new max), all zero while nothing is
 * visible. Returns the factor exp(old max - new max) that terms summed before must be
 * rescaled by, 1 when the max did not grow. NaN in the scores makes the sum NaN.
 */
export function onlineSoftmaxStep(
  row: usize,
  cols: i32,
  maxAt: usize,
  sumAt: usize,
  keep: bool,
): f32 {
  let vmax = f32x4.splat(NEG_INF);
  for (let c = 0; c < cols; c += 4) vmax = f32x4.max(vmax, v128.load(row + <usize>c * 4));
  const blockMax = max(
    max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
    max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)),
  );
  const oldMax = load<f32>(maxAt);
  const newMax = max(oldMax, blockMax);
  if (newMax === NEG_INF) {
    // Nothing visible yet: these probabilities are all zero.
    if (keep) memory.fill(row, 0, <usize>cols * 4);
    return 1;
  }
  const shift = f32x4.splat(newMax);
  let vsum = f32x4.splat(0);
  for (let c = 0; c < cols; c += 4) {
    const p = expNonPositive(f32x4.sub(v128.load(row + <usize>c * 4), shift));
    if (keep) v128.store(row + <usize>c * 4, p);
    vsum = f32x4.add(vsum, p);
  }
  const blockSum =
    f32x4.extract_lane(vsum, 0) +
    f32x4.extract_lane(vsum, 1) +
    f32x4.extract_lane(vsum, 2) +
    f32x4.extract_lane(vsum, 3);
  let alpha: f32 = 1;
  if (newMax > oldMax) alpha = expScalar(oldMax - newMax);
  store<f32>(sumAt, load<f32>(sumAt) * alpha + blockSum);
  store<f32>(maxAt, newMax);
  return alpha;
}

/**
 * lse[i0 + r] = m + log(l) for rows r < count, the log-sum-exp of each row's scores from its
 * running max (at `maxes`) and sum (at `sums`); -inf for a row that saw no key.
 */
export function writeLogSumExp(lse: usize, i0: i32, count: i32, maxes: usize, sums: usize): void {
  for (let r = 0; r < count; r++) {
    const m = load<f32>(maxes + <usize>r * 4);
    const value = m === NEG_INF ? NEG_INF : m + Mathf.log(load<f32>(sums + <usize>r * 4));
    store<f32>(lse + <usize>(i0 + r) * 4, value);
  }
}
