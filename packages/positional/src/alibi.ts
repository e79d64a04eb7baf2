import { type CreationOptions, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/** 2^(-8(i+1)/n) for i in [0, n): the geometric sequence of Press et al. 2022 for n heads. */
function geometricSlopes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 2 ** ((-8 * (i + 1)) / n));
}

/**
 * ALiBi head slopes (Press et al. 2022, "Train Short, Test Long", §3): for a power-of-two
 * head count n, the geometric sequence starting at 2^(-8/n) with that ratio. Otherwise the
 * paper's rule: the slopes of the closest smaller power of two p, followed by every other
 * slope of 2p (those not already used), up to n heads. The one definition in qkv
 * (`@qkv/sparse`'s `alibi` and `@qkv/attention`'s `alibi: true` use it): a `Float64Array`,
 * exact powers of two where the paper's are, so any float dtype rounds from the true value.
 */
export function alibiSlopes(numHeads: number): Float64Array {
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    fail('alibiSlopes', `numHeads must be a positive integer, got ${numHeads}`);
  }
  const p = 2 ** Math.floor(Math.log2(numHeads));
  if (p === numHeads) return Float64Array.from(geometricSlopes(numHeads));
  const extra = geometricSlopes(2 * p).filter((_, i) => i % 2 === 0);
  return Float64Array.from([...geometricSlopes(p), ...extra.slice(0, numHeads - p)]);
}

export interface AlibiBiasOptions extends CreationOptions<'float32' | 'float16'> {
  /**
   * Position of query row 0 among the keys. Default keyLength − queryLength: queries are the
   * last positions (FlashAttention's bottom-right alignment: self-attention when L = S,
   * decoding with a KV cache when fewer); 0 aligns them top-left.
   */
  queryOffset?: number;
}

/**
 * The ALiBi additive attention bias `[H, L, S]` for `slopes` (or a head count): a linear
 * penalty on query-key distance added to the scores before softmax (regular 1/√d scaling),
 * `−slope · |queryOffset + i − j|`. This is FlashAttention's form and the `attention` op's
 * `alibiSlopes` (`queryOffset` S − L for bottom-right, 0 for top-left); under a causal mask
 * it equals the paper's `slope · (j − i)`, and without one it is the symmetric penalty that
 * bidirectional attention needs. Computed in float64 on the host.
 */
export function alibiBias(
  slopes: number | ArrayLike<number>,
  queryLength: number,
  keyLength: number,
  options: AlibiBiasOptions = {},
): Tensor {
  const where = 'alibiBias';
  const values = typeof slopes === 'number' ? alibiSlopes(slopes) : Float64Array.from(slopes);
  if (values.length === 0 || values.some((s) => !Number.isFinite(s))) {
    fail(where, 'slopes must be a non-empty list of finite numbers');
  }
  for (const [name, n] of [
    ['queryLength', queryLength],
    ['keyLength', keyLength],
  ] as const) {
    if (!Number.isInteger(n) || n < 0)
      fail(where, `${name} must be a non-negative integer, got ${n}`);
  }
  const { queryOffset = keyLength - queryLength, dtype = 'float32', device } = options;
  if (!Number.isInteger(queryOffset))
    fail(where, `queryOffset must be an integer, got ${queryOffset}`);
  const heads = values.length;
  const out = new Float64Array(heads * queryLength * keyLength);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < queryLength; i++) {
      const base = (h * queryLength + i) * keyLength;
      // `+ 0` turns the −0 of the diagonal into 0.
      for (let j = 0; j < keyLength; j++) {
        out[base + j] = -values[h]! * Math.abs(queryOffset + i - j) + 0;
      }
    }
  }
  return tensor(out, [heads, queryLength, keyLength], { dtype, ...(device ? { device } : {}) });
}
