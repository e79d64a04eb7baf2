import { Random } from '@qkv/tensor';
import { fail } from './errors.js';
import { and, b, type Expr, floorDiv, kvIdx, lit, or, qIdx } from './expr.js';
import { type IndexedData, IndexedTensor, indexed } from './indexed-tensor.js';

// Built-in attention patterns as mask expressions (`true` = the query may attend the key).
// Because they are expressions, each compiles to JavaScript and WGSL and gets its block mask
// analytically. Combine them with `and` / `or` / `not`.

const WHERE = 'patterns';

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    fail(WHERE, `${name} must be an integer >= ${min}, got ${v}`);
}

/** `qIdx - kvIdx`, the distance from a query back to a key. */
const distance = (): Expr => qIdx.sub(kvIdx);

/**
 * Causal: a query sees keys at or before its position, top-left aligned like PyTorch's
 * `is_causal`. `offset` shifts the diagonal: `kvLen - qLen` aligns it bottom-right, for a
 * chunk of queries at the end of a longer key sequence (KV-cache decoding).
 */
export function causal(offset = 0): Expr {
  checkInt('offset', offset, -(2 ** 30));
  return offset === 0 ? qIdx.ge(kvIdx) : qIdx.add(offset).ge(kvIdx);
}

/** Causal sliding window: each query sees itself and the `window - 1` keys before it. */
export function slidingWindow(window: number): Expr {
  checkInt('window', window, 1);
  return and(causal(), distance().lt(window));
}

/** Symmetric window: keys within `radius` positions on either side, `|q - k| <= radius`. */
export function symmetricWindow(radius: number): Expr {
  checkInt('radius', radius, 0);
  return distance().abs().le(radius);
}

/**
 * Dilated sliding window (Longformer, Beltagy et al. 2020): keys at distances that are
 * multiples of `dilation`, `window` of them per side: causal `0, d, ..., (window - 1) d`,
 * symmetric `-window d .. window d`.
 */
export function dilatedSlidingWindow(options: {
  window: number;
  dilation: number;
  causal?: boolean;
}): Expr {
  const { window, dilation } = options;
  checkInt('window', window, 1);
  checkInt('dilation', dilation, 1);
  const onGrid = distance().mod(dilation).eq(0);
  if (options.causal ?? true) {
    return and(causal(), distance().lt(window * dilation), onGrid);
  }
  return and(
    distance()
      .abs()
      .le(window * dilation),
    onGrid,
  );
}

/**
 * 0/1 flags over positions, with a trailing 0 so that clamped reads past the last listed
 * position answer "not global".
 */
function positionFlags(name: string, positions: readonly number[]): IndexedTensor {
  for (const p of positions) checkInt(`${name} position`, p, 0);
  const flags = new Int32Array(Math.max(...positions, -1) + 2);
  for (const p of positions) flags[p] = 1;
  return indexed(name, flags);
}

/**
 * Longformer global + local attention: a symmetric window of `radius`, plus global tokens
 * that attend everywhere and that every query attends. `global` is the first n positions
 * or a list of positions.
 */
export function longformer(options: { radius: number; global: number | readonly number[] }): Expr {
  const local = symmetricWindow(options.radius);
  const { global } = options;
  if (typeof global === 'number') {
    checkInt('global', global, 0);
    return or(local, qIdx.lt(global), kvIdx.lt(global));
  }
  const flags = positionFlags('global_tokens', global);
  return or(local, flags.at(qIdx).eq(1), flags.at(kvIdx).eq(1));
}

export interface BigBirdOptions {
  /** Tokens per block; BigBird's pattern is defined over blocks. */
  blockSize: number;
  /** Sequence length (queries and keys), to size the random-block table. */
  seqLen: number;
  /** Neighbouring blocks on each side (BigBird uses 1: three blocks wide). */
  windowBlocks?: number;
  /** The first n blocks are global. */
  globalBlocks?: number;
  /** Random key blocks per query block, drawn without repetition outside window and globals. */
  randomBlocks?: number;
  seed?: number;
}

/**
 * BigBird (Zaheer et al. 2020): block window + global blocks + seeded random blocks. The
 * random choices are a `[numBlocks, numBlocks]` 0/1 table, so with `blockSize` equal to the
 * block mask's block size every block is classified exactly.
 */
export function bigBird(options: BigBirdOptions): Expr {
  const { blockSize, seqLen } = options;
  const windowBlocks = options.windowBlocks ?? 1;
  const globalBlocks = options.globalBlocks ?? 1;
  const randomBlocks = options.randomBlocks ?? 2;
  checkInt('blockSize', blockSize, 1);
  checkInt('seqLen', seqLen, 1);
  checkInt('windowBlocks', windowBlocks, 0);
  checkInt('globalBlocks', globalBlocks, 0);
  checkInt('randomBlocks', randomBlocks, 0);
  const n = Math.ceil(seqLen / blockSize);
  const table = new Int32Array(n * n);
  const rng = new Random(options.seed ?? 0);
  for (let qb = globalBlocks; qb < n; qb++) {
    const candidates: number[] = [];
    for (let kb = globalBlocks; kb < n; kb++) {
      if (Math.abs(qb - kb) > windowBlocks) candidates.push(kb);
    }
    // Partial Fisher-Yates: the first `randomBlocks` entries become a uniform sample.
    const take = Math.min(randomBlocks, candidates.length);
    for (let i = 0; i < take; i++) {
      const j = i + (rng.nextUint32() % (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
      table[qb * n + candidates[i]!] = 1;
    }
  }
  const random = indexed('bigbird_random', table, [n, n]);
  const qb = floorDiv(qIdx, blockSize);
  const kb = floorDiv(kvIdx, blockSize);
  return or(
    qb.sub(kb).abs().le(windowBlocks),
    qb.lt(globalBlocks),
    kb.lt(globalBlocks),
    random.at(qb, kb).eq(1),
  );
}

/**
 * Sparse Transformer strided pattern (Child et al. 2019, eq. for A(1) and A(2) merged into
 * one head): causal, and either among the previous `stride` positions or a multiple of
 * `stride` back.
 */
export function sparseTransformerStrided(stride: number): Expr {
  checkInt('stride', stride, 1);
  return and(causal(), or(distance().lt(stride), distance().mod(stride).eq(0)));
}

/**
 * Sparse Transformer fixed pattern (Child et al. 2019): causal, and either in the query's
 * own stride-long block, or one of the last `summary` positions of some block, which carry
 * that block's summary forward.
 */
export function sparseTransformerFixed(stride: number, summary = 1): Expr {
  checkInt('stride', stride, 1);
  checkInt('summary', summary, 1);
  if (summary > stride) fail(WHERE, `summary (${summary}) must be <= stride (${stride})`);
  return and(
    causal(),
    or(floorDiv(qIdx, stride).eq(floorDiv(kvIdx, stride)), kvIdx.mod(stride).ge(stride - summary)),
  );
}

/**
 * Document (jagged) masking: queries attend only keys of the same segment, for several
 * sequences packed into one. Segment ids are `[seqLen]`, or `[batch, seqLen]` per batch
 * item; `kvSegmentIds` defaults to the same ids (self-attention).
 */
export function documentMask(
  segmentIds: IndexedData | IndexedTensor,
  options: { kvSegmentIds?: IndexedData | IndexedTensor; causal?: boolean } = {},
): Expr {
  const lookup = (name: string, ids: IndexedData | IndexedTensor) => {
    const t = ids instanceof IndexedTensor ? ids : indexed(name, ids);
    if (t.elementType !== 'i32') fail(WHERE, `${name} must hold integers`);
    return (pos: Expr) => (t.shape.length === 2 ? t.at(b, pos) : t.at(pos));
  };
  const qSeg = lookup('q_segments', segmentIds);
  const kvSeg = options.kvSegmentIds ? lookup('kv_segments', options.kvSegmentIds) : qSeg;
  const same = qSeg(qIdx).eq(kvSeg(kvIdx));
  return options.causal ? and(same, causal()) : same;
}

/**
 * Prefix-LM (T5 / UniLM): bidirectional over the first `prefixLength` positions, causal
 * after them. Give one length or one per batch item.
 */
export function prefixLM(prefixLength: number | readonly number[]): Expr {
  if (typeof prefixLength === 'number') {
    checkInt('prefixLength', prefixLength, 0);
    return or(kvIdx.lt(prefixLength), causal());
  }
  for (const p of prefixLength) checkInt('prefixLength', p, 0);
  return or(kvIdx.lt(indexed('prefix_lengths', [...prefixLength]).at(b)), causal());
}

/** Key padding: batch item `b` has `lengths[b]` real keys; the rest are masked. */
export function keyPadding(lengths: readonly number[]): Expr {
  for (const l of lengths) checkInt('length', l, 0);
  return kvIdx.lt(indexed('kv_lengths', [...lengths]).at(b));
}

/** Attend everywhere (a dense mask, for baselines). */
export function fullMask(): Expr {
  return lit(true);
}
