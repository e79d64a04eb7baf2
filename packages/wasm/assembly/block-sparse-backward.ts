import { BK, prepareKeyBlock, queryRowGradients, storeKeyBlock } from './attention-backward';
import { roundUp } from './tile';

// The gradient of block-sparse attention on the tiles of attention-backward.ts: a call owns
// up to BK keys of one key block of one key/value head and walks the block tables transposed,
// visiting only the query blocks whose rows list that key block (the forward's visits), with
// the mask bytes of a partial block. dK and dV of the keys sum over every visit of every
// query head of the group (GQA); dQ goes to the calling thread's own buffer, as in the dense
// gradient.

/**
 * dQ, dK, dV contributions of keys j0 .. j0 + BK (clipped to the key block at kStart, blockKv
 * keys, and to s) of one key/value head. `visits` holds `count` i32 triples (query head of the
 * group g, query block qb, mask address or 0): the query head's q, dOut, lse, delta and dq
 * are at g times their per-head size from q, dOut, lse, delta and dq (l4 x e8 per head); the
 * mask holds blockQ x blockKv bytes (row = query within the block, column = key within the
 * block; 1 = attend). Rows with lse -inf attend nothing and add nothing.
 */
export function blockSparseBackwardBlock(
  q: usize,
  k: usize,
  v: usize,
  dOut: usize,
  lse: usize,
  delta: usize,
  dk: usize,
  dv: usize,
  dq: usize,
  l: i32,
  s: i32,
  e: i32,
  ev: i32,
  scale: f32,
  blockQ: i32,
  blockKv: i32,
  kStart: i32,
  j0: i32,
  visits: usize,
  count: i32,
  scratch: usize,
): void {
  const valid = min(BK, min(kStart + blockKv, s) - j0);
  const cols = roundUp(valid, 8);
  const kNonFinite = prepareKeyBlock(k, v, j0, valid, roundUp(l, 4), e, ev, scratch);
  for (let n = 0; n < count; n++) {
    const visit = visits + <usize>n * 12;
    const qStart = load<i32>(visit, 4) * blockQ;
    const mask = <usize>load<i32>(visit, 8);
    const qEnd = min(qStart + blockQ, l);
    // Whole 4-row groups around the query block; rows outside it add nothing. Mask byte of
    // row i, key j0 + c: row i - qStart, column j0 + c - kStart of the block's bytes.
    queryRowGradients(
      q,
      dOut,
      lse,
      delta,
      dq,
      load<i32>(visit),
      qStart & ~3,
      roundUp(qEnd, 4),
      qStart,
      qEnd,
      l,
      j0 + valid,
      e,
      ev,
      j0,
      cols,
      scale,
      false,
      0,
      false,
      kNonFinite,
      mask !== 0 ? mask + <usize>(j0 - kStart) : 0,
      qStart,
      blockKv,
    );
  }
  storeKeyBlock(dk, dv, j0, valid, e, ev);
}
