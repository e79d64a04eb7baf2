import {
  accumulateTile,
  BC,
  BR,
  finishLse,
  finishRows,
  prepareHead,
  scoreRow,
  scoreTile,
  softmaxTileRow,
  startRows,
} from './attention';
import { NEG_INF } from './online-softmax';
import { roundUp } from './tile';

// Block-sparse attention for one query head on the flash-attention tiles of attention.ts:
// each query block streams past only the key blocks its table lists. Full blocks take every
// key; partial blocks take the keys whose mask byte is 1 (the host evaluates the mask, a
// JavaScript predicate, once per element of the partial blocks). Unlisted blocks cost nothing.

/**
 * out (l x ev) for one head, visiting the key blocks `table` lists. `table` holds i32s:
 * numQBlocks + 1 offsets into the visit list, then the visits as (key block, mask address)
 * pairs, the address 0 for a full block (or a partial one without a mask), else that of
 * blockQ x blockKv mask bytes (row = query within the block, column = key within the block).
 * Unless `lse` is 0, each row's log-sum-exp goes to lse[i]. Only query blocks firstBlock,
 * firstBlock + blockStep, ... are computed (threads).
 */
export function blockSparseHead(
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
  blockQ: i32,
  blockKv: i32,
  table: usize,
  firstBlock: i32,
  blockStep: i32,
  scratch: usize,
): void {
  prepareHead(q, k, v, l, s, e, ev, scale, scratch);
  const numQBlocks = (l + blockQ - 1) / blockQ;
  const visits = table + <usize>(numQBlocks + 1) * 4;
  for (let qb = firstBlock; qb < numQBlocks; qb += blockStep) {
    const from = load<i32>(table + <usize>qb * 4);
    const to = load<i32>(table + <usize>(qb + 1) * 4);
    const qStart = qb * blockQ;
    const qEnd = min(qStart + blockQ, l);
    for (let i0 = qStart; i0 < qEnd; i0 += BR) {
      const valid = min(BR, qEnd - i0);
      const rows = roundUp(valid, 4);
      startRows(rows);
      for (let n = from; n < to; n++) {
        const kb = load<i32>(visits + <usize>n * 8);
        const mask = <usize>load<i32>(visits + <usize>n * 8, 4);
        visitKeyBlock(
          i0,
          rows,
          valid,
          i0 - qStart,
          kb * blockKv,
          min((kb + 1) * blockKv, s),
          mask,
          blockKv,
        );
      }
      finishRows(out, i0, valid, ev);
      if (lse !== 0) finishLse(lse, i0, valid);
    }
  }
}

/**
 * Fold keys kStart .. kEnd into the running softmax of query rows i0 .. i0 + valid, in tiles
 * of at most BC keys starting at multiples of 8; tile columns outside the block are -inf.
 * `maskRow0` is row i0's row in the block's mask bytes.
 */
function visitKeyBlock(
  i0: i32,
  rows: i32,
  valid: i32,
  maskRow0: i32,
  kStart: i32,
  kEnd: i32,
  mask: usize,
  blockKv: i32,
): void {
  for (let j0 = kStart & ~7; j0 < kEnd; j0 += BC) {
    const cols = roundUp(min(BC, kEnd - j0), 8);
    scoreTile(i0, rows, j0, cols);
    const lo = max(0, kStart - j0);
    const hi = min(cols, kEnd - j0);
    for (let r = 0; r < rows; r++) {
      const row = scoreRow(r);
      if (r >= valid) {
        for (let c = 0; c < cols; c++) store<f32>(row + <usize>c * 4, NEG_INF);
      } else {
        for (let c = 0; c < lo; c++) store<f32>(row + <usize>c * 4, NEG_INF);
        if (mask !== 0) {
          // Mask byte of key j0 + c: column j0 + c - kStart of row maskRow0 + r.
          const bits = mask + <usize>((maskRow0 + r) * blockKv + j0 - kStart);
          for (let c = lo; c < hi; c++) {
            if (load<u8>(bits + <usize>c) === 0) store<f32>(row + <usize>c * 4, NEG_INF);
          }
        }
        for (let c = hi; c < cols; c++) store<f32>(row + <usize>c * 4, NEG_INF);
      }
      softmaxTileRow(r, cols);
    }
    accumulateTile(rows, j0, cols);
  }
}
