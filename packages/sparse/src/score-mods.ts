import { fail } from './errors.js';
import {
  type Expr,
  f32,
  formatExpr,
  h,
  kvIdx,
  max,
  min,
  qIdx,
  score,
  substitute,
  toF32,
} from './expr.js';
import { type IndexedData, indexed } from './indexed-tensor.js';

// Score modifiers: f32 expressions of `score` (the scaled q·k), `b`, `h`, `qIdx`, `kvIdx`,
// applied to every attended score before the softmax. They compile to JavaScript and WGSL
// like masks do; they do not change which blocks are visited.

const WHERE = 'score modifier';

export function assertScoreMod(where: string, mod: Expr): void {
  if (mod.type === 'bool') {
    fail(where, `a score modifier must be numeric, got the bool ${formatExpr(mod)}`);
  }
}

/** Apply modifiers in order: `composeScoreMods(a, b)` is `b(a(score))`. */
export function composeScoreMods(...mods: Expr[]): Expr {
  let out: Expr = score;
  for (const m of mods) {
    assertScoreMod('composeScoreMods', m);
    out = substitute(toF32(m), 'score', out);
  }
  return out;
}

/** `clamp(kvIdx - qIdx, -maxDistance, maxDistance) + maxDistance`: a table column. */
function relativeColumn(maxDistance: number): Expr {
  return min(max(kvIdx.sub(qIdx), -maxDistance), maxDistance).add(maxDistance);
}

/**
 * A learned bias per relative position `kvIdx - qIdx`, clipped to `±maxDistance` (Shaw et
 * al. 2018 clip distances the same way). `table` is `[2 maxDistance + 1]`, or
 * `[heads, 2 maxDistance + 1]` (give `heads` when passing flat data) for a row per head.
 */
export function relativeBias(
  table: IndexedData,
  maxDistance: number,
  options: { heads?: number } = {},
): Expr {
  if (!Number.isInteger(maxDistance) || maxDistance < 0) {
    fail(WHERE, `maxDistance must be an integer >= 0, got ${maxDistance}`);
  }
  const width = 2 * maxDistance + 1;
  const shape = options.heads === undefined ? undefined : [options.heads, width];
  const t = indexed('relative_bias', table, shape);
  if (t.shape.length > 2 || t.shape[t.shape.length - 1] !== width) {
    fail(WHERE, `the table must be [${width}] or [heads, ${width}], got [${t.shape}]`);
  }
  const column = relativeColumn(maxDistance);
  return score.add(t.shape.length === 1 ? t.at(column) : t.at(h, column));
}

/**
 * ALiBi slopes (Press et al. 2022, reference implementation): for n a power of two the
 * geometric sequence starting at 2^(-8/n) with that ratio; otherwise the slopes of the
 * nearest lower power of two followed by every other slope of the next one. A
 * `Float64Array`, like `@qkv/positional`'s `alibiSlopes` (the same values).
 */
export function alibiSlopes(numHeads: number): Float64Array {
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    fail(WHERE, `numHeads must be a positive integer, got ${numHeads}`);
  }
  const powerOfTwo = (n: number) => {
    const start = 2 ** -(2 ** -(Math.log2(n) - 3));
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  const closest = 2 ** Math.floor(Math.log2(numHeads));
  if (closest === numHeads) return Float64Array.from(powerOfTwo(numHeads));
  const extra = alibiSlopes(2 * closest).filter((_, i) => i % 2 === 0);
  return Float64Array.from([...powerOfTwo(closest), ...extra.slice(0, numHeads - closest)]);
}

/**
 * ALiBi (Press et al. 2022): `score - m_h * |kvIdx - qIdx|`, FlashAttention's form and the
 * `attention` op's `alibiSlopes` (top-left aligned: query i and key j are positions i and
 * j). Under a causal mask it equals the paper's `m_h * (kvIdx - qIdx)`; without one the
 * penalty is symmetric, as bidirectional encoders need.
 */
export function alibi(numHeads: number): Expr {
  const slopes = indexed('alibi_slopes', Float32Array.from(alibiSlopes(numHeads)));
  return score.sub(slopes.at(h).mul(toF32(kvIdx.sub(qIdx).abs())));
}

/** Tanh soft-capping, `cap * tanh(score / cap)` (Gemma 2 caps attention logits at 50). */
export function softCap(cap: number): Expr {
  if (!(cap > 0) || !Number.isFinite(cap)) fail(WHERE, `cap must be > 0, got ${cap}`);
  return f32(cap).mul(score.div(f32(cap)).tanh());
}

export interface T5BucketOptions {
  numBuckets?: number;
  maxDistance?: number;
  bidirectional?: boolean;
}

/**
 * T5's relative position bucket (Raffel et al. 2020; the formula of Hugging Face's
 * `T5Attention._relative_position_bucket`) for `relativePosition = kvIdx - qIdx`: exact
 * buckets for short distances, logarithmic ones up to `maxDistance`, computed in float32
 * as PyTorch does so bucket edges agree.
 */
export function t5RelativeBucket(relativePosition: number, options: T5BucketOptions = {}): number {
  let numBuckets = options.numBuckets ?? 32;
  const maxDistance = options.maxDistance ?? 128;
  let bucket = 0;
  let n: number;
  if (options.bidirectional ?? true) {
    numBuckets = Math.floor(numBuckets / 2);
    if (relativePosition > 0) bucket += numBuckets;
    n = Math.abs(relativePosition);
  } else {
    n = -Math.min(relativePosition, 0);
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return bucket + n;
  const f = Math.fround;
  const scaled = f(
    f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (numBuckets - maxExact),
  );
  return bucket + Math.min(maxExact + Math.trunc(scaled), numBuckets - 1);
}

/**
 * T5 relative attention bias: `score + table[bucket(kvIdx - qIdx), h]` with `table` shaped
 * like Hugging Face's `relative_attention_bias.weight`, `[numBuckets, heads]`. Buckets stop
 * changing beyond `maxDistance`, so a bucket table over `±maxDistance` with clamped lookup
 * is exact at every distance.
 */
export function t5Bias(table: IndexedData, options: T5BucketOptions & { heads: number }): Expr {
  const numBuckets = options.numBuckets ?? 32;
  const maxDistance = options.maxDistance ?? 128;
  const t = indexed('t5_bias', table, [numBuckets, options.heads]);
  const buckets = new Int32Array(2 * maxDistance + 1);
  for (let i = 0; i < buckets.length; i++) {
    buckets[i] = t5RelativeBucket(i - maxDistance, options);
  }
  const bucketTable = indexed('t5_buckets', buckets);
  return score.add(t.at(bucketTable.at(relativeColumn(maxDistance)), h));
}
