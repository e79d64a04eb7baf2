/**
 * One query row's running softmax-weighted sum over keys seen one at a time (the online
 * softmax of Milakov & Gimelshein 2018, as used by FlashAttention): keep the running max m,
 * the sum l of exp(s - m) and the weighted values, rescaling both when m grows. float64.
 */
export class SoftmaxRow {
  max = -Infinity;
  sum = 0;
  readonly acc: Float64Array;

  constructor(readonly valueDim: number) {
    this.acc = new Float64Array(valueDim);
  }

  reset(): void {
    this.max = -Infinity;
    this.sum = 0;
    this.acc.fill(0);
  }

  /**
   * Add `n` keys at once: `scores[i]` with value row `values[rows[i] .. rows[i] + valueDim)`.
   * One rescale per call (FlashAttention's per-block update) instead of one per key.
   */
  addBlock(scores: Float64Array, rows: Int32Array, n: number, values: ArrayLike<number>): void {
    let blockMax = -Infinity;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      if (s > blockMax) blockMax = s;
      // A NaN score at a key the row attends makes the row NaN, as a dense softmax does
      // (a comparison alone would skip it, and a block holding only NaN would vanish).
      else if (Number.isNaN(s)) this.sum = Number.NaN;
    }
    // Scores of -inf (e.g. from a score modifier) carry no weight.
    if (blockMax === -Infinity) return;
    const acc = this.acc;
    const dim = acc.length;
    if (blockMax > this.max) {
      const rescale = Math.exp(this.max - blockMax);
      this.sum *= rescale;
      for (let j = 0; j < dim; j++) acc[j]! *= rescale;
      this.max = blockMax;
    }
    const m = this.max;
    for (let i = 0; i < n; i++) {
      const p = Math.exp(scores[i]! - m);
      if (p === 0) continue;
      this.sum += p;
      const off = rows[i]!;
      for (let j = 0; j < dim; j++) acc[j]! += p * values[off + j]!;
    }
  }

  /** log Σ exp(s) over the keys seen: m + log(l), -inf for a row that saw none (NaN after a NaN score). */
  logSumExp(): number {
    if (Number.isNaN(this.sum)) return Number.NaN;
    return this.sum > 0 ? this.max + Math.log(this.sum) : -Infinity;
  }

  /** Write the normalised row; a row that saw no key gives zeros, one that saw a NaN score NaN. */
  writeTo(out: { [i: number]: number }, offset: number): void {
    const inv = Number.isNaN(this.sum) ? Number.NaN : this.sum > 0 ? 1 / this.sum : 0;
    for (let j = 0; j < this.acc.length; j++) out[offset + j] = this.acc[j]! * inv;
  }
}

/**
 * `sum_i a[ai + i] * c[ci + i]` over `n` elements, in float64. Four partial sums let the
 * multiply-adds overlap instead of waiting on one accumulator.
 */
export function dot(
  a: ArrayLike<number>,
  ai: number,
  c: ArrayLike<number>,
  ci: number,
  n: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[ai + i]! * c[ci + i]!;
    s1 += a[ai + i + 1]! * c[ci + i + 1]!;
    s2 += a[ai + i + 2]! * c[ci + i + 2]!;
    s3 += a[ai + i + 3]! * c[ci + i + 3]!;
  }
  for (; i < n; i++) s0 += a[ai + i]! * c[ci + i]!;
  return s0 + s1 + (s2 + s3);
}
