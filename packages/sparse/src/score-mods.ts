import { alibiSlopes, type T5BucketOptions, t5RelativeBuckets } from '@qkv/positional';
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
 * ALiBi (Press et al. 2022) with `@qkv/positional`'s slopes: `score - m_h * |kvIdx - qIdx|`,
 * FlashAttention's form and the `attention` op's `alibiSlopes` (top-left aligned: query i and
 * key j are positions i and j). Under a causal mask it equals the paper's `m_h * (kvIdx -
 * qIdx)`; without one the penalty is symmetric, as bidirectional encoders need.
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
  // Column c holds the bucket of relative position c - maxDistance: one query at position
  // maxDistance against keys 0 .. 2 maxDistance.
  const buckets = t5RelativeBuckets(1, 2 * maxDistance + 1, {
    ...options,
    queryOffset: maxDistance,
  });
  const bucketTable = indexed('t5_buckets', buckets);
  return score.add(t.at(bucketTable.at(relativeColumn(maxDistance)), h));
}
