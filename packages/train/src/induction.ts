import { type Device, type Random, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/**
 * Olsson et al. 2022, "In-context Learning and Induction Heads": rows of uniform random
 * tokens that repeat, so once a token has been seen the next one can be copied from what
 * followed its previous occurrence. By default the second half repeats the first. With
 * `minPeriod` below `length / 2`, each row repeats a random segment whose length is drawn
 * from `[minPeriod, length / 2]` until the row is full: with one fixed period a model with
 * absolute positions can copy by position alone (a layer-1 head attending T/2 − 1 back)
 * instead of forming the induction circuit, and the repeats give the circuit more to learn
 * from.
 */
export function repeatedSequences(
  batch: number,
  length: number,
  vocabSize: number,
  options: { rng: Random; device?: Device; minPeriod?: number },
): Tensor {
  const half = length / 2;
  if (!Number.isInteger(half)) fail('repeatedSequences', `length ${length} must be even`);
  const minPeriod = options.minPeriod ?? half;
  if (!(minPeriod >= 1 && minPeriod <= half)) {
    fail('repeatedSequences', `minPeriod must be in [1, ${half}], got ${minPeriod}`);
  }
  const { rng } = options;
  const data = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    const period = minPeriod + Math.floor(rng.nextFloat() * (half - minPeriod + 1));
    const row = data.subarray(b * length, (b + 1) * length);
    for (let i = 0; i < length; i++) {
      row[i] = i < period ? Math.floor(rng.nextFloat() * vocabSize) : row[i - period]!;
    }
  }
  return tensor(data, [batch, length], {
    dtype: 'int32',
    ...(options.device ? { device: options.device } : {}),
  });
}

/**
 * Scores of attention probabilities `[B, H, T, T]` on sequences whose second half repeats
 * the first, per head:
 * - previous-token: mean attention from position i to i − 1 (i >= 1);
 * - induction: mean attention from a repeated position i >= T/2 to i − T/2 + 1, the token
 *   that followed the first occurrence of the current one (Olsson et al.'s prefix matching).
 */
export function headScores(
  pattern: ArrayLike<number>,
  shape: readonly number[],
): { previousToken: number[]; induction: number[] } {
  const [b, h, t] = shape as [number, number, number];
  const half = t / 2;
  const previousToken = new Array<number>(h).fill(0);
  const induction = new Array<number>(h).fill(0);
  for (let n = 0; n < b; n++) {
    for (let head = 0; head < h; head++) {
      const base = (n * h + head) * t * t;
      for (let i = 1; i < t; i++) previousToken[head]! += pattern[base + i * t + i - 1]!;
      for (let i = half; i < t; i++) induction[head]! += pattern[base + i * t + i - half + 1]!;
    }
  }
  return {
    previousToken: previousToken.map((s) => s / (b * (t - 1))),
    induction: induction.map((s) => s / (b * half)),
  };
}
