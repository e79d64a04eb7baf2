import { type BlockTables, blockTableRow } from '@qkv/tensor';
import { fail } from './errors.js';
import { Expr } from './expr.js';
import { type Box, compileBounds } from './interval.js';
import { assertMask, compileMask, type Mask, maskDependsOn } from './mask.js';

/**
 * How a block mask's block states were found: `analytic` by interval reasoning over each
 * block's index ranges (O(number of blocks), no element visited), `per-element` by
 * evaluating the mask at every position of every block (O(qLen * kvLen)). `dense` calls
 * every block partial without looking: no block is skipped, the mask is evaluated
 * everywhere, as in dense masked attention (a baseline for benchmarks and debugging).
 */
export type BlockClassification = 'analytic' | 'per-element' | 'dense';

export interface BlockMaskOptions {
  qLen: number;
  kvLen: number;
  /** Block edge for both axes (default 64); `blockQ` / `blockKv` override it per axis. */
  blockSize?: number;
  blockQ?: number;
  blockKv?: number;
  /** Needed when the mask reads `b` / `h`; otherwise the block mask broadcasts over them. */
  batch?: number;
  heads?: number;
  /**
   * `per-element` forces exact classification of an expression; `dense` marks every block
   * partial. Predicates are always classified per element unless `dense`.
   */
  classify?: BlockClassification;
}

/**
 * Which key blocks each query block must visit (the idea of FlexAttention's BlockMask).
 *
 * Layout (the `BlockTables` of `@qkv/tensor`'s `blockSparseAttention` op), meant to be
 * uploaded as-is to GPU storage buffers (all `Int32Array`):
 * - a row is one query block of one (batch, head): `r = (bi * heads + hi) * numQBlocks + qb`,
 *   where `batch` / `heads` are 1 when the mask does not depend on them (so a kernel uses
 *   `bi % batch` and `hi % heads`; see `blockRow`);
 * - `fullCounts[r]` / `partialCounts[r]`: how many key blocks of row r are entirely
 *   attended / mixed (a partial block needs the mask evaluated per element);
 * - `fullOffsets[r]` .. `fullOffsets[r + 1]` (length rows + 1, exclusive prefix sums of
 *   the counts) delimit row r's key-block indices in `fullIndices`, ascending; the same for
 *   `partialOffsets` / `partialIndices`. Empty blocks appear in neither list.
 * Block `kb` covers keys `kb * blockKv .. min((kb + 1) * blockKv, kvLen) - 1`; the last
 * block of each axis may be short.
 */
export interface BlockMask extends BlockTables {
  readonly numKvBlocks: number;
  readonly fullCounts: Int32Array;
  readonly partialCounts: Int32Array;
  /** The mask the partial blocks evaluate. */
  readonly mask: Mask;
  readonly classification: BlockClassification;
  /** Mask evaluations spent building this block mask (0 when analytic). */
  readonly elementsEvaluated: number;
}

export const BLOCK_EMPTY = 0;
export const BLOCK_PARTIAL = 1;
export const BLOCK_FULL = 2;

const WHERE = 'createBlockMask';

function positiveInt(name: string, v: number | undefined, fallback?: number): number {
  const value = v ?? fallback;
  if (value === undefined || !Number.isInteger(value) || value < 1) {
    fail(WHERE, `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Classify every (query block, key block) pair of a mask as empty, full or partial.
 * Expressions are classified analytically unless `classify: 'per-element'` is given;
 * predicates always per element.
 */
export function createBlockMask(mask: Mask, options: BlockMaskOptions): BlockMask {
  assertMask(WHERE, mask);
  const { qLen, kvLen } = options;
  for (const [name, v] of [
    ['qLen', qLen],
    ['kvLen', kvLen],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) fail(WHERE, `${name} must be an integer >= 0, got ${v}`);
  }
  const blockSize = positiveInt('blockSize', options.blockSize, 64);
  const blockQ = positiveInt('blockQ', options.blockQ, blockSize);
  const blockKv = positiveInt('blockKv', options.blockKv, blockSize);
  const batch = dimension(mask, 'b', 'batch', options.batch);
  const heads = dimension(mask, 'h', 'heads', options.heads);
  const classification: BlockClassification =
    options.classify === 'dense'
      ? 'dense'
      : mask instanceof Expr
        ? (options.classify ?? 'analytic')
        : 'per-element';
  const numQBlocks = Math.ceil(qLen / blockQ);
  const numKvBlocks = Math.ceil(kvLen / blockKv);
  const rows = batch * heads * numQBlocks;
  const states = new Uint8Array(rows * numKvBlocks);
  let elementsEvaluated = 0;

  const box: Box = {
    b: { lo: 0, hi: 0 },
    h: { lo: 0, hi: 0 },
    q: { lo: 0, hi: 0 },
    k: { lo: 0, hi: 0 },
  };
  const bounds = classification === 'analytic' ? compileBounds(mask as Expr) : undefined;
  const f = classification === 'per-element' ? compileMask(mask) : undefined;
  for (let r = 0; r < rows; r++) {
    const qb = r % numQBlocks;
    const bh = (r - qb) / numQBlocks;
    const hi = bh % heads;
    const bi = (bh - hi) / heads;
    box.b = { lo: bi, hi: bi };
    box.h = { lo: hi, hi: hi };
    box.q = { lo: qb * blockQ, hi: Math.min((qb + 1) * blockQ, qLen) - 1 };
    for (let kb = 0; kb < numKvBlocks; kb++) {
      box.k = { lo: kb * blockKv, hi: Math.min((kb + 1) * blockKv, kvLen) - 1 };
      let state: number = BLOCK_PARTIAL;
      if (bounds) {
        const t = bounds(box);
        state = t.lo >= 1 ? BLOCK_FULL : t.hi <= 0 ? BLOCK_EMPTY : BLOCK_PARTIAL;
      } else if (f) {
        const scan = scanBlock(f, box);
        elementsEvaluated += scan.evaluated;
        state = scan.state;
      }
      states[r * numKvBlocks + kb] = state;
    }
  }
  const full = indexLists(states, rows, numKvBlocks, BLOCK_FULL);
  const partial = indexLists(states, rows, numKvBlocks, BLOCK_PARTIAL);
  return {
    qLen,
    kvLen,
    blockQ,
    blockKv,
    numQBlocks,
    numKvBlocks,
    batch,
    heads,
    fullCounts: full.counts,
    fullOffsets: full.offsets,
    fullIndices: full.indices,
    partialCounts: partial.counts,
    partialOffsets: partial.offsets,
    partialIndices: partial.indices,
    mask,
    classification,
    elementsEvaluated,
  };
}

function dimension(mask: Mask, index: 'b' | 'h', name: string, given: number | undefined): number {
  if (!maskDependsOn(mask, index)) return 1;
  if (given === undefined) {
    fail(WHERE, `the mask reads ${index}, so options.${name} must say how many there are`);
  }
  return positiveInt(name, given);
}

/** Evaluate a block element by element, stopping once it has seen both outcomes. */
function scanBlock(
  f: (b: number, h: number, q: number, k: number) => number,
  box: Box,
): { state: number; evaluated: number } {
  let seenTrue = false;
  let seenFalse = false;
  let evaluated = 0;
  const bi = box.b.lo;
  const hi = box.h.lo;
  for (let q = box.q.lo; q <= box.q.hi; q++) {
    for (let k = box.k.lo; k <= box.k.hi; k++) {
      evaluated++;
      if (f(bi, hi, q, k)) seenTrue = true;
      else seenFalse = true;
      if (seenTrue && seenFalse) return { state: BLOCK_PARTIAL, evaluated };
    }
  }
  return { state: seenTrue ? BLOCK_FULL : BLOCK_EMPTY, evaluated };
}

function indexLists(
  states: Uint8Array,
  rows: number,
  cols: number,
  wanted: number,
): { counts: Int32Array; offsets: Int32Array; indices: Int32Array } {
  const counts = new Int32Array(rows);
  const offsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (let kb = 0; kb < cols; kb++) if (states[r * cols + kb] === wanted) c++;
    counts[r] = c;
    offsets[r + 1] = offsets[r]! + c;
  }
  const indices = new Int32Array(offsets[rows]!);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    for (let kb = 0; kb < cols; kb++) if (states[r * cols + kb] === wanted) indices[at++] = kb;
  }
  return { counts, offsets, indices };
}

/** The state (BLOCK_EMPTY / BLOCK_PARTIAL / BLOCK_FULL) of one block, for tests and plots. */
export function blockState(
  mask: BlockMask,
  row: number,
  kb: number,
): typeof BLOCK_EMPTY | typeof BLOCK_PARTIAL | typeof BLOCK_FULL {
  const inList = (offsets: Int32Array, indices: Int32Array) =>
    indices.subarray(offsets[row]!, offsets[row + 1]!).includes(kb);
  if (inList(mask.fullOffsets, mask.fullIndices)) return BLOCK_FULL;
  if (inList(mask.partialOffsets, mask.partialIndices)) return BLOCK_PARTIAL;
  return BLOCK_EMPTY;
}

/** Row of the block mask for a batch index, head and query block (broadcast dims fold). */
export const blockRow: (mask: BlockMask, bi: number, hi: number, qb: number) => number =
  blockTableRow;

/** Number of non-empty blocks over number of blocks: the fraction of work a kernel does. */
export function blockDensity(mask: BlockMask): number {
  const total = mask.batch * mask.heads * mask.numQBlocks * mask.numKvBlocks;
  return total === 0 ? 0 : (mask.fullIndices.length + mask.partialIndices.length) / total;
}
