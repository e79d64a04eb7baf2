import { type Device, type Random, type Tensor, tensor } from '@qkv/tensor';

/**
 * Olsson et al. 2022, "In-context Learning and Induction Heads": sequences whose second half
 * repeats the first (uniform random tokens), so from the middle on the next token can be
 * copied from the previous occurrence of the current one.
 */
export function repeatedSequences(
  batch: number,
  length: number,
  vocabSize: number,
  options: { rng: Random; device?: Device },
): Tensor {
  const half = length / 2;
  if (!Number.isInteger(half)) throw new RangeError(`length ${length} must be even`);
  const data = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < half; i++) {
      const token = Math.floor(options.rng.nextFloat() * vocabSize);
      data[b * length + i] = token;
      data[b * length + half + i] = token;
    }
  }
  return tensor(data, [batch, length], {
    dtype: 'int32',
    ...(options.device ? { device: options.device } : {}),
  });
}

/**
 * Scores of attention probabilities `[B, H, T, T]` on repeated sequences, per head:
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
