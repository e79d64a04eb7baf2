import { expNonPositive } from './exp';
import { NEG_INF, onlineSoftmaxStep, writeLogSumExp } from './online-softmax';
import { finishScore, hasTerms, selectHead, softcapOf } from './score-terms';
import { packPanels, product, productSkippingZeros, roundUp } from './tile';

// The gradient of fused attention (FlashAttention-2, Dao 2023, Algorithm 2): the row
// log-sum-exp of the scores, then a backward that recomputes each BQ x BK probability tile
// from it and never holds an L x S matrix. A call owns one block of BK keys of one key/value
// head: dK and dV of those keys accumulate in scratch over every query row of every query
// head of the group (GQA), so calls on different blocks never write the same dK / dV row;
// dQ goes to the calling thread's own buffer, which the host sums. All five products run on
// the 4 x 8 micro-kernel.

export const BQ: i32 = 32;
export const BK: i32 = 32;

/** Scratch bytes `attentionBackwardBlock` and `attentionLseHead` need. */
export function attentionGradScratchBytes(l: i32, s: i32, e: i32, ev: i32): i32 {
  const l4 = roundUp(l, 4);
  const e8 = roundUp(e, 8);
  const ev8 = roundUp(ev, 8);
  const backward = BK * e8 * 3 + BK * ev8 * 2 + l4 * (e8 + ev8) + 3 * BQ * BK;
  const lse = roundUp(s, 8) * e + BQ * e8 + BQ * BK + 2 * BQ;
  return max(backward, lse) * 4 + 16;
}

// Scratch regions of the current call.
let kt: usize = 0; // the key block's Kᵀ in 8-key panels: kt[panel][p][8]
let kRows: usize = 0; // the key block's rows, e8 wide
let vt: usize = 0; // the key block's Vᵀ in 8-key panels
let qp: usize = 0; // q rows, e8 wide
let dop: usize = 0; // dOut rows, ev8 wide
let pTile: usize = 0; // scores, then probabilities (BQ x BK)
let dsTile: usize = 0; // dP, then dS
let capTile: usize = 0; // the soft-cap's derivative per score
let dkAcc: usize = 0; // BK x e8
let dvAcc: usize = 0; // BK x ev8

/** One row of `width` floats copied into a row of `widthOut`, zero-padded. */
function copyRow(src: usize, dst: usize, width: i32, widthOut: i32): void {
  memory.copy(dst, src, <usize>width * 4);
  memory.fill(dst + <usize>width * 4, 0, <usize>(widthOut - width) * 4);
}

/** True when some value of the `count` floats at `at` (a multiple of 4) is NaN or ±Infinity. */
function anyNonFinite(at: usize, count: i32): bool {
  let sum = f32x4.splat(0);
  for (let i = 0; i < count; i += 4) {
    const x = v128.load(at + <usize>i * 4);
    sum = f32x4.add(sum, f32x4.sub(x, x));
  }
  return v128.any_true(f32x4.ne(sum, sum));
}

/**
 * tile[r][c] = q row r · key c, for `rows` rows (a multiple of 4, qWidth apart) and `cols`
 * keys (a multiple of 8) of the packed block `keys` (8-key panels of width e).
 */
function dotTile(
  q: usize,
  qWidth: i32,
  rows: i32,
  keys: usize,
  e: i32,
  cols: i32,
  tile: usize,
): void {
  product(q, <usize>qWidth * 4, 4, keys, 32, <usize>e * 32, e, rows, cols, tile, BK * 4, false);
}

/**
 * Turn row `row` of raw q·k (keys j0 .. j0 + cols) into the op's scores: scaled, the terms
 * (`general`), and -inf from key `limit` on (causal, kvLength, padding). With `cap` not 0 the
 * soft-cap's derivative per key goes there.
 */
function finishRow(
  row: usize,
  i: i32,
  j0: i32,
  cols: i32,
  limit: i32,
  scale: f32,
  offset: i32,
  general: bool,
  cap: usize,
): void {
  if (general) {
    for (let c = 0; c < limit; c++) {
      const at = row + <usize>c * 4;
      const capAt = cap !== 0 ? cap + <usize>c * 4 : 0;
      store<f32>(at, finishScore(load<f32>(at) * scale, i, j0 + c, offset, capAt));
    }
  } else {
    const vs = f32x4.splat(scale);
    for (let c = 0; c < limit; c += 4) {
      const at = row + <usize>c * 4;
      v128.store(at, f32x4.mul(v128.load(at), vs));
    }
  }
  for (let c = limit; c < cols; c++) store<f32>(row + <usize>c * 4, NEG_INF);
}

/** Keys (from j0, at most `cols`) query row i may see: none for padding rows past l. */
function visibleKeys(i: i32, l: i32, s: i32, j0: i32, cols: i32, causal: bool, offset: i32): i32 {
  const end = i < l ? (causal ? min(s, i + offset + 1) : s) : 0;
  return max(0, min(end - j0, cols));
}

/**
 * lse[i] = log Σ_j exp(score_ij) for the query rows of one head (l x e at q; keys: the first
 * s rows of k), query blocks firstBlock, firstBlock + blockStep, ...; -inf for a row that sees
 * no key. `h` is the head's index for `selectHead` (its mask planes and ALiBi slope).
 */
export function attentionLseHead(
  q: usize,
  k: usize,
  lse: usize,
  l: i32,
  s: i32,
  e: i32,
  scale: f32,
  causal: bool,
  offset: i32,
  h: i32,
  firstBlock: i32,
  blockStep: i32,
  scratch: usize,
): void {
  selectHead(h);
  const general = hasTerms();
  const e8 = roundUp(e, 8);
  const s8 = roundUp(s, 8);
  const keys = scratch;
  const rowsQ = keys + <usize>(s8 * e) * 4;
  const tile = rowsQ + <usize>(BQ * e8) * 4;
  const rowMax = tile + <usize>(BQ * BK) * 4;
  const rowSum = rowMax + <usize>BQ * 4;
  packPanels(k, keys, s, s8, e);
  const l4 = roundUp(l, 4);
  for (let i0 = firstBlock * BQ; i0 < l4; i0 += blockStep * BQ) {
    const rows = min(BQ, l4 - i0);
    for (let r = 0; r < rows; r++) {
      const at = rowsQ + <usize>(r * e8) * 4;
      if (i0 + r < l) copyRow(q + <usize>((i0 + r) * e) * 4, at, e, e8);
      else memory.fill(at, 0, <usize>e8 * 4);
      store<f32>(rowMax + <usize>r * 4, NEG_INF);
      store<f32>(rowSum + <usize>r * 4, 0);
    }
    const lastRow = min(i0 + rows, l) - 1;
    const jEnd = causal ? min(s, max(0, lastRow + offset + 1)) : s;
    for (let j0 = 0; j0 < jEnd; j0 += BK) {
      const cols = roundUp(min(BK, jEnd - j0), 8);
      dotTile(rowsQ, e8, rows, keys + <usize>(j0 * e) * 4, e, cols, tile);
      for (let r = 0; r < rows; r++) {
        const row = tile + <usize>(r * BK) * 4;
        const limit = visibleKeys(i0 + r, l, s, j0, cols, causal, offset);
        finishRow(row, i0 + r, j0, cols, limit, scale, offset, general, 0);
        onlineSoftmaxStep(row, cols, rowMax + <usize>r * 4, rowSum + <usize>r * 4, false);
      }
    }
    writeLogSumExp(lse, i0, min(rows, l - i0), rowMax, rowSum);
  }
}

/**
 * dQ, dK, dV contributions of keys j0 .. j0 + BK of one key/value head, over `group` query
 * heads (h0 .. h0 + group; heads of one batch entry, consecutive in q, dOut, lse, delta and
 * dq). q: l x e per head, dOut: l x ev, lse and delta: l; k and v: the head's rows (e and ev
 * wide, s attended). dK and dV of the block's keys are written to dk and dv (rows j0 ..);
 * dQ is added to dq (l4 x e8 per head).
 */
export function attentionBackwardBlock(
  q: usize,
  k: usize,
  v: usize,
  dOut: usize,
  lse: usize,
  delta: usize,
  dk: usize,
  dv: usize,
  dq: usize,
  h0: i32,
  group: i32,
  l: i32,
  s: i32,
  e: i32,
  ev: i32,
  scale: f32,
  causal: bool,
  offset: i32,
  j0: i32,
  scratch: usize,
): void {
  const l4 = roundUp(l, 4);
  const valid = min(BK, s - j0);
  const cols = roundUp(valid, 8);
  const kNonFinite = prepareKeyBlock(k, v, j0, valid, l4, e, ev, scratch);
  // The first query row that sees key j0 (causal), rounded down to a multiple of 4.
  const first = causal ? min(l4, max(0, j0 - offset) & ~3) : 0;
  const general = hasTerms();
  for (let g = 0; g < group; g++) {
    selectHead(h0 + g);
    queryRowGradients(
      q,
      dOut,
      lse,
      delta,
      dq,
      g,
      first,
      l4,
      0,
      l,
      l,
      s,
      e,
      ev,
      j0,
      cols,
      scale,
      causal,
      offset,
      general,
      kNonFinite,
      0,
      0,
      0,
    );
  }
  storeKeyBlock(dk, dv, j0, valid, e, ev);
}

/**
 * The gradient contributions of query rows from .. to (multiples of 4) of query head g (its
 * q, dOut, lse, delta and dq at g times their per-head size from q, dOut, lse, delta and dq)
 * against the prepared block of `cols` keys from j0 (`kNonFinite` from `prepareKeyBlock`):
 * rows outside lo .. hi add nothing; row i sees the keys below `visibleKeys` (keys end at
 * `keyEnd`), and, with a `mask`, those whose byte is 1 (row i at mask + (i - maskRow0) *
 * maskStride, one byte per key from j0). With `general` the selected head's score terms apply.
 */
export function queryRowGradients(
  q: usize,
  dOut: usize,
  lse: usize,
  delta: usize,
  dq: usize,
  g: i32,
  from: i32,
  to: i32,
  lo: i32,
  hi: i32,
  l: i32,
  keyEnd: i32,
  e: i32,
  ev: i32,
  j0: i32,
  cols: i32,
  scale: f32,
  causal: bool,
  offset: i32,
  general: bool,
  kNonFinite: i32,
  mask: usize,
  maskRow0: i32,
  maskStride: i32,
): void {
  const l4 = roundUp(l, 4);
  const e8 = roundUp(e, 8);
  const ev8 = roundUp(ev, 8);
  const lseHead = lse + <usize>(g * l) * 4;
  const deltaHead = delta + <usize>(g * l) * 4;
  const dqHead = dq + <usize>(g * l4 * e8) * 4;
  const qHead = q + <usize>(g * l * e) * 4;
  const oHead = dOut + <usize>(g * l * ev) * 4;
  const cap = general && softcapOf() > 0 ? capTile : 0;
  const nonFinite = kNonFinite | loadQueryRows(qHead, oHead, lseHead, from, to, l, e, ev);
  for (let i0 = from; i0 < to; i0 += BQ) {
    const rows = min(BQ, to - i0);
    dotTile(qp + <usize>(i0 * e8) * 4, e8, rows, kt, e, cols, pTile);
    dotTile(dop + <usize>(i0 * ev8) * 4, ev8, rows, vt, ev, cols, dsTile);
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      const pRow = pTile + <usize>(r * BK) * 4;
      const dsRow = dsTile + <usize>(r * BK) * 4;
      const rowLse = i >= lo && i < hi ? load<f32>(lseHead + <usize>i * 4) : NEG_INF;
      if (rowLse === NEG_INF) {
        memory.fill(pRow, 0, <usize>cols * 4);
        memory.fill(dsRow, 0, <usize>cols * 4);
        continue;
      }
      const limit = visibleKeys(i, l, keyEnd, j0, cols, causal, offset);
      const capRow = cap !== 0 ? cap + <usize>(r * BK) * 4 : 0;
      finishRow(pRow, i, j0, cols, limit, scale, offset, general, capRow);
      if (mask !== 0) {
        const bits = mask + <usize>((i - maskRow0) * maskStride);
        for (let c = 0; c < limit; c++) {
          if (load<u8>(bits + <usize>c) === 0) store<f32>(pRow + <usize>c * 4, NEG_INF);
        }
      }
      gradientRow(pRow, dsRow, cols, rowLse, load<f32>(deltaHead + <usize>i * 4), scale, capRow);
    }
    accumulateProducts(i0, rows, cols, e8, ev8, dqHead, nonFinite);
  }
}

/**
 * Lay out the scratch of a block of `valid` keys (at most BK) from key j0 of k and v (e and
 * ev wide) for query rows up to l4, pack the keys and values, and clear their dK and dV sums.
 * Returns the `accumulateProducts` flag K when the keys are not all finite, else 0.
 */
export function prepareKeyBlock(
  k: usize,
  v: usize,
  j0: i32,
  valid: i32,
  l4: i32,
  e: i32,
  ev: i32,
  scratch: usize,
): i32 {
  const e8 = roundUp(e, 8);
  const ev8 = roundUp(ev, 8);
  kt = scratch;
  kRows = kt + <usize>(BK * e8) * 4;
  vt = kRows + <usize>(BK * e8) * 4;
  dkAcc = vt + <usize>(BK * ev8) * 4;
  dvAcc = dkAcc + <usize>(BK * e8) * 4;
  qp = dvAcc + <usize>(BK * ev8) * 4;
  dop = qp + <usize>(l4 * e8) * 4;
  pTile = dop + <usize>(l4 * ev8) * 4;
  dsTile = pTile + <usize>(BQ * BK) * 4;
  capTile = dsTile + <usize>(BQ * BK) * 4;
  const cols = roundUp(valid, 8);
  packPanels(k + <usize>(j0 * e) * 4, kt, valid, cols, e);
  packPanels(v + <usize>(j0 * ev) * 4, vt, valid, cols, ev);
  for (let c = 0; c < cols; c++) {
    const at = kRows + <usize>(c * e8) * 4;
    if (c < valid) copyRow(k + <usize>((j0 + c) * e) * 4, at, e, e8);
    else memory.fill(at, 0, <usize>e8 * 4);
  }
  memory.fill(dkAcc, 0, <usize>(BK * (e8 + ev8)) * 4);
  // dQ += dS K reads every key of the block (see accumulateProducts).
  return anyNonFinite(kRows, cols * e8) ? K : 0;
}

/**
 * Copy query rows from .. to (multiples of 4) of one head's q and dOut into the scratch;
 * rows that see no key (lse -inf) or lie past l are zero, so they add nothing anywhere.
 * Returns the `accumulateProducts` flags Q and DO of the rows copied.
 */
function loadQueryRows(
  qHead: usize,
  oHead: usize,
  lseHead: usize,
  from: i32,
  to: i32,
  l: i32,
  e: i32,
  ev: i32,
): i32 {
  const e8 = roundUp(e, 8);
  const ev8 = roundUp(ev, 8);
  for (let i = from; i < to; i++) {
    const live = i < l && load<f32>(lseHead + <usize>i * 4) !== NEG_INF;
    const qAt = qp + <usize>(i * e8) * 4;
    const oAt = dop + <usize>(i * ev8) * 4;
    if (live) {
      copyRow(qHead + <usize>(i * e) * 4, qAt, e, e8);
      copyRow(oHead + <usize>(i * ev) * 4, oAt, ev, ev8);
    } else {
      memory.fill(qAt, 0, <usize>e8 * 4);
      memory.fill(oAt, 0, <usize>ev8 * 4);
    }
  }
  const packed = to - from;
  return (
    (anyNonFinite(qp + <usize>(from * e8) * 4, packed * e8) ? Q : 0) |
    (anyNonFinite(dop + <usize>(from * ev8) * 4, packed * ev8) ? DO : 0)
  );
}

/** Write the block's dK and dV sums to rows j0 .. j0 + valid of dk and dv. */
export function storeKeyBlock(dk: usize, dv: usize, j0: i32, valid: i32, e: i32, ev: i32): void {
  const e8 = roundUp(e, 8);
  const ev8 = roundUp(ev, 8);
  for (let c = 0; c < valid; c++) {
    memory.copy(dk + <usize>((j0 + c) * e) * 4, dkAcc + <usize>(c * e8) * 4, <usize>e * 4);
    memory.copy(dv + <usize>((j0 + c) * ev) * 4, dvAcc + <usize>(c * ev8) * 4, <usize>ev * 4);
  }
}

/**
 * p = exp(score - lse) in place (0 at masked keys); ds = scale · p · (dP - delta) · softcap' in place of dP, and
 * 0 wherever p is 0, so a masked key's NaN or ±Infinity in v never reaches the gradients.
 */
function gradientRow(
  pRow: usize,
  dsRow: usize,
  cols: i32,
  rowLse: f32,
  rowDelta: f32,
  scale: f32,
  capRow: usize,
): void {
  const vl = f32x4.splat(rowLse);
  const vd = f32x4.splat(rowDelta);
  const vs = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  const vInf = f32x4.splat(NEG_INF);
  for (let c = 0; c < cols; c += 4) {
    const at = <usize>c * 4;
    const score = v128.load(pRow + at);
    // A masked key has probability 0 even where the row's lse is NaN (as in the reference).
    const p = v128.andnot(expNonPositive(f32x4.sub(score, vl)), f32x4.eq(score, vInf));
    let ds = f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(dsRow + at), vd)), vs);
    if (capRow !== 0) ds = f32x4.mul(ds, v128.load(capRow + at));
    v128.store(pRow + at, p);
    v128.store(dsRow + at, v128.bitselect(zero, ds, f32x4.eq(p, zero)));
  }
}

/** Flags of `accumulateProducts`: which operands are not all finite. */
const K: i32 = 1;
const Q: i32 = 2;
const DO: i32 = 4;

/**
 * C += A · B on the micro-kernel (B row-major), or over the nonzero A only when B may hold
 * NaN or ±Infinity (`skipZeros`): a zero weight must then contribute nothing, not 0 · NaN.
 */
function addProduct(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  k: i32,
  rows: i32,
  width: i32,
  c: usize,
  cRow: usize,
  skipZeros: bool,
): void {
  if (skipZeros) productSkippingZeros(a, aRow, aStep, b, bStep, k, rows, width, c, cRow);
  else product(a, aRow, aStep, b, bStep, 32, k, rows, width, c, cRow, true);
}

/**
 * For query rows i0 .. i0 + rows against the key block: dV += Pᵀ dO, dK += dSᵀ Q (the scale
 * is in dS), dQ += dS K; Pᵀ and dSᵀ are read column-wise from the row-major tiles. A masked
 * key (P = dS = 0) must get nothing from a query row holding NaN, nor a query from a masked
 * key's NaN, as in the reference, which never visits them: operands that are not all finite
 * take the path that skips zeros.
 */
function accumulateProducts(
  i0: i32,
  rows: i32,
  cols: i32,
  e8: i32,
  ev8: i32,
  dqHead: usize,
  nonFinite: i32,
): void {
  const qRows = qp + <usize>(i0 * e8) * 4;
  const oRows = dop + <usize>(i0 * ev8) * 4;
  const dqRows = dqHead + <usize>(i0 * e8) * 4;
  const e8b = <usize>e8 * 4;
  const ev8b = <usize>ev8 * 4;
  addProduct(pTile, 4, BK * 4, oRows, ev8b, rows, cols, ev8, dvAcc, ev8b, (nonFinite & DO) !== 0);
  addProduct(dsTile, 4, BK * 4, qRows, e8b, rows, cols, e8, dkAcc, e8b, (nonFinite & Q) !== 0);
  addProduct(dsTile, BK * 4, 4, kRows, e8b, cols, rows, e8, dqRows, e8b, (nonFinite & K) !== 0);
}
