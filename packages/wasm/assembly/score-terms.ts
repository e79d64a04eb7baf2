// The score pipeline of the attention op, shared by the forward (attention.ts) and the
// gradient kernels (attention-backward.ts): per call the terms are described for a whole
// batch entry, and `selectHead` picks the query head's planes and ALiBi slope.

import { NEG_INF } from './online-softmax';

let softcap: f32 = 0;
let slopes: usize = 0;
let planeA: usize = 0;
let planeAHead: i32 = 0;
let planeARow: i32 = 0;
let planeACol: i32 = 0;
let planeB: usize = 0;
let planeBHead: i32 = 0;
let planeBRow: i32 = 0;
let planeBCol: i32 = 0;

// The selected head's terms.
let slope: f32 = 0;
let maskA: usize = 0;
let maskB: usize = 0;

/**
 * The terms applied to the scaled scores of one batch entry, in the op's order: soft-capping,
 * up to two additive float32 planes (a float mask, a bias, or a bool mask already turned into
 * 0 / -inf) whose (head 0, row 0, key 0) is at `a` / `b`, read at
 * `plane[h * head + i * row + j * col]` (element strides, 0 where broadcast), then ALiBi with
 * slope `slopes[h]` (float32; 0 = no ALiBi). A zero pointer turns a term off.
 */
export function setHeadTerms(
  cap: f32,
  alibiSlopes: usize,
  a: usize,
  aHead: i32,
  aRow: i32,
  aCol: i32,
  b: usize,
  bHead: i32,
  bRow: i32,
  bCol: i32,
): void {
  softcap = cap;
  slopes = alibiSlopes;
  planeA = a;
  planeAHead = aHead;
  planeARow = aRow;
  planeACol = aCol;
  planeB = b;
  planeBHead = bHead;
  planeBRow = bRow;
  planeBCol = bCol;
}

/** Use query head h's planes and slope in `finishScore`. */
export function selectHead(h: i32): void {
  slope = slopes !== 0 ? load<f32>(slopes + <usize>h * 4) : 0;
  maskA = planeA !== 0 ? planeA + <usize>(h * planeAHead) * 4 : 0;
  maskB = planeB !== 0 ? planeB + <usize>(h * planeBHead) * 4 : 0;
}

/** True when the scores need more than scaling and the causal / length limits. */
export function hasTerms(): bool {
  return softcap > 0 || slopes !== 0 || planeA !== 0 || planeB !== 0;
}

export function softcapOf(): f32 {
  return softcap;
}

/**
 * `x + term`, except that -Infinity on either side stays -Infinity: a term of -Infinity masks
 * the key whatever its q·k holds (NaN too), as the op's contract says.
 */
function addTerm(x: f32, term: f32): f32 {
  return x === NEG_INF || term === NEG_INF ? NEG_INF : x + term;
}

/**
 * The final score of query row i and key j from its scaled q·k `x`: soft-capping, the
 * additive planes, ALiBi at distance |i + offset - j|. Where `capSlope` is not 0 the
 * derivative of the soft-cap, 1 - tanh², is stored there.
 */
export function finishScore(x: f32, i: i32, j: i32, offset: i32, capSlope: usize): f32 {
  if (softcap > 0) {
    const t = Mathf.tanh(x / softcap);
    x = softcap * t;
    if (capSlope !== 0) store<f32>(capSlope, 1 - t * t);
  }
  if (maskA !== 0) x = addTerm(x, load<f32>(maskA + <usize>(i * planeARow + j * planeACol) * 4));
  if (maskB !== 0) x = addTerm(x, load<f32>(maskB + <usize>(i * planeBRow + j * planeBCol) * 4));
  if (slope !== 0) x -= slope * <f32>abs(i + offset - j);
  return x;
}
