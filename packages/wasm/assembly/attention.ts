import { NEG_INF, onlineSoftmaxStep, writeLogSumExp } from './online-softmax';
import { finishScore, hasTerms, selectHead } from './score-terms';
import { packPanels, product, productSkippingZeros, roundUp } from './tile';

// Flash attention for one query head (Dao et al., "FlashAttention", 2022; the loop order of
// FlashAttention-2, 2023): a block of BR query rows stays put while blocks of BC keys stream
// past; scores live only in a BR x BC tile, and an online softmax (running max m and sum l per
// row, rescaling the output accumulator by exp(m_old - m_new)) replaces the second pass.
// Both products, Q·Kᵀ and P·V, run on the 4 x 8 micro-kernel.

export const BR = 32;
export const BC = 64;

/**
 * Scratch bytes `attentionHead` or `blockSparseHead` needs (packed Kᵀ, padded V and Q, the
 * tiles, m and l, and a flag per key block). Q gets BR spare rows, so a query block may start
 * at any row.
 */
export function attentionScratchBytes(l: i32, s: i32, e: i32, ev: i32): i32 {
  const s8 = roundUp(s, 8);
  const ev8 = roundUp(ev, 8);
  const blocks = (s + BC - 1) / BC;
  return (s8 * e + s8 * ev8 + (roundUp(l, 4) + BR) * e + BR * BC + BR * ev8 + 2 * BR + blocks) * 4;
}

// The current head's scratch regions and widths, set by `prepareHead`.
let kt: usize = 0;
let vp: usize = 0;
let qp: usize = 0;
let scores: usize = 0;
let acc: usize = 0;
let rowMax: usize = 0;
let rowSum: usize = 0;
let nonFinite: usize = 0;
let headDim: i32 = 0;
let ev8: i32 = 0;

/**
 * Lay out the scratch for one head and fill it: Kᵀ packed in 8-key panels, V padded to ev8
 * columns, Q times `scale` (zero rows past l), and which key blocks of V are not all finite.
 */
export function prepareHead(
  q: usize,
  k: usize,
  v: usize,
  l: i32,
  s: i32,
  e: i32,
  ev: i32,
  scale: f32,
  scratch: usize,
): void {
  const s8 = roundUp(s, 8);
  const qRows = roundUp(l, 4) + BR;
  headDim = e;
  ev8 = roundUp(ev, 8);
  kt = scratch;
  vp = kt + <usize>(s8 * e) * 4;
  qp = vp + <usize>(s8 * ev8) * 4;
  scores = qp + <usize>(qRows * e) * 4;
  acc = scores + <usize>(BR * BC) * 4;
  rowMax = acc + <usize>(BR * ev8) * 4;
  rowSum = rowMax + <usize>BR * 4;
  nonFinite = rowSum + <usize>BR * 4;
  packPanels(k, kt, s, s8, e);
  padRows(v, vp, s, s8, ev, ev8, 1);
  flagNonFiniteBlocks(vp, s, ev8, nonFinite);
  padRows(q, qp, l, qRows, e, e, scale);
}

/** Start a block of `rows` query rows: running max -inf, sum 0, accumulator 0. */
export function startRows(rows: i32): void {
  for (let r = 0; r < rows; r++) {
    store<f32>(rowMax + <usize>r * 4, NEG_INF);
    store<f32>(rowSum + <usize>r * 4, 0);
  }
  memory.fill(acc, 0, <usize>(rows * ev8) * 4);
}

/**
 * The score tile S = Q Kᵀ for query rows i0 .. i0 + rows (rows a multiple of 4) and keys
 * j0 .. j0 + cols (both multiples of 8); row r of the tile is at `scoreRow(r)`.
 */
export function scoreTile(i0: i32, rows: i32, j0: i32, cols: i32): void {
  const e = headDim;
  const qRows = qp + <usize>(i0 * e) * 4;
  const kPanels = kt + <usize>(j0 * e) * 4;
  product(qRows, <usize>e * 4, 4, kPanels, 32, <usize>e * 32, e, rows, cols, scores, BC * 4, false);
}

/** Address of row r of the score tile. */
export function scoreRow(r: i32): usize {
  return scores + <usize>(r * BC) * 4;
}

/** The online-softmax step of tile row r over `cols` scores (masked ones already -inf). */
export function softmaxTileRow(r: i32, cols: i32): void {
  const maxAt = rowMax + <usize>r * 4;
  const alpha = onlineSoftmaxStep(scoreRow(r), cols, maxAt, rowSum + <usize>r * 4, true);
  if (alpha === 1) return;
  const accRow = acc + <usize>(r * ev8) * 4;
  const va = f32x4.splat(alpha);
  for (let c = 0; c < ev8; c += 4) {
    v128.store(accRow + <usize>c * 4, f32x4.mul(v128.load(accRow + <usize>c * 4), va));
  }
}

/**
 * acc += P V for the probability tile (rows x cols) and keys j0 .. j0 + cols (j0 a multiple
 * of 8). Where V holds NaN or ±Infinity the products skip zero weights, so a masked key
 * contributes nothing.
 */
export function accumulateTile(rows: i32, j0: i32, cols: i32): void {
  const vBlock = vp + <usize>(j0 * ev8) * 4;
  const firstFlag = load<i32>(nonFinite + <usize>(j0 / BC) * 4);
  const lastFlag = load<i32>(nonFinite + <usize>((j0 + cols - 1) / BC) * 4);
  const width = <usize>ev8 * 4;
  if (firstFlag | lastFlag) {
    productSkippingZeros(scores, BC * 4, 4, vBlock, width, cols, rows, ev8, acc, width);
  } else {
    product(scores, BC * 4, 4, vBlock, width, 32, cols, rows, ev8, acc, width, true);
  }
}

/** out rows i0 .. i0 + count (ev wide) = acc / sum; a row that saw no key is zero. */
export function finishRows(out: usize, i0: i32, count: i32, ev: i32): void {
  for (let r = 0; r < count; r++) {
    const sum = load<f32>(rowSum + <usize>r * 4);
    const inv: f32 = sum > 0 ? 1 / sum : 0;
    const src = acc + <usize>(r * ev8) * 4;
    const dst = out + <usize>((i0 + r) * ev) * 4;
    for (let c = 0; c < ev; c++)
      store<f32>(dst + <usize>c * 4, load<f32>(src + <usize>c * 4) * inv);
  }
}

/** lse rows i0 .. i0 + count from the online softmax's running max and sum. */
export function finishLse(lse: usize, i0: i32, count: i32): void {
  writeLogSumExp(lse, i0, count, rowMax, rowSum);
}

/**
 * out (l x ev) = softmax(scale · q kᵀ + terms) v for one head: q is l x e, k the first s rows
 * of a row-major key matrix (e wide), v likewise (ev wide). With `causal`, query i sees keys
 * j <= i + offset; key blocks entirely past a query block's last row are never touched.
 * A row that sees no key is zero. Unless `lse` is 0, each row's log-sum-exp goes to lse[i].
 * The score terms are those `setHeadTerms` (score-terms.ts) set, for query head `h`.
 * Only query blocks firstBlock, firstBlock + blockStep, ... are computed, so threads can
 * share a head with balanced work even when causal.
 */
export function attentionHead(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  l: i32,
  s: i32,
  e: i32,
  ev: i32,
  scale: f32,
  causal: bool,
  offset: i32,
  h: i32,
  firstBlock: i32,
  blockStep: i32,
  scratch: usize,
): void {
  prepareHead(q, k, v, l, s, e, ev, scale, scratch);
  selectHead(h);
  const l4 = roundUp(l, 4);
  const general = hasTerms();

  for (let i0 = firstBlock * BR; i0 < l4; i0 += blockStep * BR) {
    const rows = min(BR, l4 - i0);
    const lastRow = min(i0 + rows, l) - 1;
    const jEnd = causal ? min(s, max(0, lastRow + offset + 1)) : s;
    startRows(rows);
    for (let j0 = 0; j0 < jEnd; j0 += BC) {
      const cols = roundUp(min(BC, jEnd - j0), 8);
      scoreTile(i0, rows, j0, cols);
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        const row = scoreRow(r);
        // Keys this row may see inside the block: past s, past the diagonal, or (padding
        // rows past l) none at all.
        let limit = i < l ? (causal ? min(s, i + offset + 1) : s) : 0;
        limit = max(0, min(limit - j0, cols));
        if (general && limit > 0) applyTerms(row, i, j0, limit, offset);
        for (let c = limit; c < cols; c++) store<f32>(row + <usize>c * 4, NEG_INF);
        softmaxTileRow(r, cols);
      }
      accumulateTile(rows, j0, cols);
    }
    finishRows(out, i0, min(rows, l - i0), ev);
    if (lse !== 0) finishLse(lse, i0, min(rows, l - i0));
  }
}

/**
 * flags[b] = 1 when key block b (BC keys of the padded v, ev8 wide) holds NaN or ±Infinity,
 * else 0. x - x is NaN exactly for those, so one sum per block tells.
 */
function flagNonFiniteBlocks(vp: usize, s: i32, width: i32, flags: usize): void {
  for (let j0 = 0; j0 < s; j0 += BC) {
    const end = vp + <usize>(min(s, j0 + BC) * width) * 4;
    let sum = f32x4.splat(0);
    for (let at = vp + <usize>(j0 * width) * 4; at < end; at += 16) {
      const x = v128.load(at);
      sum = f32x4.add(sum, f32x4.sub(x, x));
    }
    store<i32>(flags + <usize>(j0 / BC) * 4, v128.any_true(f32x4.ne(sum, sum)) ? 1 : 0);
  }
}

/** The score terms (score-terms.ts) on keys j0 .. j0 + count of query row i. */
function applyTerms(row: usize, i: i32, j0: i32, count: i32, offset: i32): void {
  for (let c = 0; c < count; c++) {
    const at = row + <usize>c * 4;
    store<f32>(at, finishScore(load<f32>(at), i, j0 + c, offset, 0));
  }
}

/** Copy `rows` rows of `width` floats (times `factor`) into `rowsOut` x `widthOut`, zero-padded. */
function padRows(
  src: usize,
  dst: usize,
  rows: i32,
  rowsOut: i32,
  width: i32,
  widthOut: i32,
  factor: f32,
): void {
  memory.fill(dst, 0, <usize>(rowsOut * widthOut) * 4);
  for (let r = 0; r < rows; r++) {
    const from = src + <usize>(r * width) * 4;
    const to = dst + <usize>(r * widthOut) * 4;
    for (let c = 0; c < width; c++)
      store<f32>(to + <usize>c * 4, load<f32>(from + <usize>c * 4) * factor);
  }
}
