import {
  type AttentionDims,
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  type BlockTables,
  blockTableRow,
  debugFlags,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { attentionHeads } from './batch.js';

export type Mask = NonNullable<BlockSparseAttentionAttrs['mods']['mask']>;

/**
 * What the kernel of assembly/block-sparse.ts reads for every (batch, query head): its visit
 * table (i32: offsets per query block, then (key block, mask address) pairs), and the mask
 * bytes of every partial block of the block tables (partial block j at j * blockQ * blockKv),
 * plus the work done, counted as the reference counts it.
 */
interface VisitPlan {
  /** Per head, in i32s: its table's start in `tables`. */
  heads: number[];
  tables: Int32Array;
  maskBytes: number;
  stats: { full: number; partial: number; maskEvaluations: number; scoresComputed: number };
}

/** Bytes of the mask bytes of every partial block of `m` (block j at j * blockQ * blockKv). */
export function maskBytesOf(m: BlockTables): number {
  return m.partialOffsets[m.batch * m.heads * m.numQBlocks]! * m.blockQ * m.blockKv;
}

function planVisits(d: AttentionDims, m: BlockTables, hasMask: boolean): VisitPlan {
  const heads: number[] = [];
  let ints = 0;
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      heads.push(ints);
      const first = blockTableRow(m, b, h, 0);
      const last = first + m.numQBlocks;
      const full = m.fullOffsets[last]! - m.fullOffsets[first]!;
      const partial = m.partialOffsets[last]! - m.partialOffsets[first]!;
      ints += m.numQBlocks + 1 + 2 * (full + partial);
    }
  }
  return {
    heads,
    tables: new Int32Array(ints),
    maskBytes: hasMask ? maskBytesOf(m) : 0,
    stats: { full: 0, partial: 0, maskEvaluations: 0, scoresComputed: 0 },
  };
}

/**
 * Mask bytes of table row r's partial blocks (1 = attend), evaluated at batch b, head h; returns
 * how many are 1 in each of them. A row shared by several heads or batch items (tables of
 * batch or heads 1 broadcast) is evaluated once: such tables describe a mask that reads
 * neither b nor h.
 */
function evaluateRow(
  m: BlockTables,
  d: AttentionDims,
  mask: Mask,
  r: number,
  [b, h, qb]: [number, number, number],
  view: Uint8Array,
  attended: Int32Array,
): number {
  const qStart = qb * m.blockQ;
  const qEnd = Math.min(qStart + m.blockQ, d.queryLength);
  let evaluations = 0;
  for (let j = m.partialOffsets[r]!; j < m.partialOffsets[r + 1]!; j++) {
    const kStart = m.partialIndices[j]! * m.blockKv;
    const kEnd = Math.min(kStart + m.blockKv, d.kvLength);
    let on = 0;
    for (let qi = qStart; qi < qEnd; qi++) {
      const rowAt = (j * m.blockQ + qi - qStart) * m.blockKv - kStart;
      for (let ki = kStart; ki < kEnd; ki++) {
        const bit = mask(b, h, qi, ki) ? 1 : 0;
        view[rowAt + ki] = bit;
        on += bit;
      }
    }
    attended[j] = on;
    evaluations += (qEnd - qStart) * (kEnd - kStart);
  }
  return evaluations;
}

/**
 * Evaluates the mask bytes of table row r (at batch b, head h, query block qb) into `view`
 * the first time it is asked for that row; returns the evaluations made. `attended[j]`: how
 * many bytes of partial block j are 1.
 */
export function maskEvaluator(
  m: BlockTables,
  d: AttentionDims,
  mask: Mask,
  view: Uint8Array,
): { attended: Int32Array; evaluate(r: number, b: number, h: number, qb: number): number } {
  const evaluated = new Uint8Array(m.batch * m.heads * m.numQBlocks);
  const attended = new Int32Array(m.partialIndices.length);
  return {
    attended,
    evaluate(r, b, h, qb) {
      if (evaluated[r]) return 0;
      evaluated[r] = 1;
      return evaluateRow(m, d, mask, r, [b, h, qb], view, attended);
    },
  };
}

/** Fill the visit tables (mask addresses from `maskBase`) and, with a mask, its bytes. */
function fillVisits(
  plan: VisitPlan,
  d: AttentionDims,
  m: BlockTables,
  mask: Mask | undefined,
  maskBase: number,
  maskView: Uint8Array,
): void {
  const { tables, stats } = plan;
  const blockArea = m.blockQ * m.blockKv;
  const masks = mask ? maskEvaluator(m, d, mask, maskView) : undefined;
  let head = 0;
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      const table = plan.heads[head++]!;
      const visits = table + m.numQBlocks + 1;
      let visit = 0;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        tables[table + qb] = visit;
        const rows = Math.min(m.blockQ, d.queryLength - qb * m.blockQ);
        const r = blockTableRow(m, b, h, qb);
        if (masks) stats.maskEvaluations += masks.evaluate(r, b, h, qb);
        for (let j = m.fullOffsets[r]!; j < m.fullOffsets[r + 1]!; j++) {
          const kb = m.fullIndices[j]!;
          tables[visits + 2 * visit] = kb;
          tables[visits + 2 * visit++ + 1] = 0;
          stats.full++;
          stats.scoresComputed += rows * blockLength(m, d, kb);
        }
        for (let j = m.partialOffsets[r]!; j < m.partialOffsets[r + 1]!; j++) {
          const kb = m.partialIndices[j]!;
          tables[visits + 2 * visit] = kb;
          tables[visits + 2 * visit++ + 1] = mask ? maskBase + j * blockArea : 0;
          stats.partial++;
          stats.scoresComputed += masks ? masks.attended[j]! : rows * blockLength(m, d, kb);
        }
      }
      tables[table + m.numQBlocks] = visit;
    }
  }
}

/** Keys in key block kb (the last one may be short). */
function blockLength(m: BlockTables, d: AttentionDims, kb: number): number {
  return Math.min(m.blockKv, d.kvLength - kb * m.blockKv);
}

/**
 * `blockSparseAttention` on float32: the flash tiles of assembly/attention.ts over the listed
 * key blocks only, query blocks dealt round-robin over the threads, with each row's
 * log-sum-exp when the op asks for it (`saveLse`). A score modifier is a
 * JavaScript function the module cannot call from its worker threads, so with one (or another
 * dtype) the reference kernel runs.
 */
export function registerBlockSparseAttentionKernel(
  fallback: KernelFunc<BlockSparseAttentionAttrs, AttentionDims>,
): void {
  registerKernel<BlockSparseAttentionAttrs, AttentionDims>({
    op: BLOCK_SPARSE_ATTENTION,
    backend: 'wasm',
    run(ctx) {
      const spec = ctx.outputs[0]!;
      const { attrs, plan: d } = ctx;
      if (spec.dtype !== 'float32' || attrs.mods.scoreMod) return fallback(ctx);
      const device = ctx.device as WasmDevice;
      const wasm = device.module;
      const m = attrs.blocks;
      const { queryLength: l, kvLength: s, headDim: e, valueDim: ev } = d;
      const mask = attrs.mods.mask;
      const visits = planVisits(d, m, mask !== undefined);
      const operands = ctx.inputs.map((t) => t.storage as TypedArray);
      const threads = wasm.threads;
      const scratchBytes = wasm.exports.attentionScratchBytes(l, s, e, ev);
      const rows = d.batch * d.qHeads * l;
      const lseSpec = ctx.outputs[1];
      const extra = [
        sizeOf(spec.shape) * 4,
        (lseSpec ? rows : 0) * 4,
        visits.tables.length * 4,
        visits.maskBytes,
        ...Array<number>(threads).fill(scratchBytes),
      ];
      const results = wasm.withOperands(operands, extra, (pointers) => {
        const [pq, pk, pv, po, pl, pTables, pMasks, ...scratch] = pointers;
        // Unwritten rows must show in tests: module memory holds whatever ran before.
        if (lseSpec && debugFlags.poisonOutputs) wasm.f32(pl!, rows).fill(Number.NaN);
        const maskView = new Uint8Array(wasm.exports.memory.buffer, pMasks!, visits.maskBytes);
        fillVisits(visits, d, m, mask, pMasks!, maskView);
        new Int32Array(wasm.exports.memory.buffer, pTables!, visits.tables.length).set(
          visits.tables,
        );
        const calls = scratch.map((scratchAt, t): KernelCall[] => {
          if (t >= m.numQBlocks) return [];
          return attentionHeads(d, [pq!, pk!, pv!, po!]).map((head): KernelCall => {
            const table = pTables! + visits.heads[head.qHead]! * 4;
            return [
              'blockSparseHead',
              [
                head.q,
                head.k,
                head.v,
                head.out,
                lseSpec ? pl! + head.qHead * l * 4 : 0,
                l,
                s,
                e,
                ev,
                attrs.scale,
                m.blockQ,
                m.blockKv,
                table,
                t,
                threads,
                scratchAt,
              ],
            ];
          });
        });
        wasm.parallel(calls);
        const out = wasm.f32(po!, sizeOf(spec.shape)).slice();
        return lseSpec ? [out, wasm.f32(pl!, rows).slice()] : [out];
      });
      if (attrs.stats) {
        const { full, partial, maskEvaluations, scoresComputed } = visits.stats;
        attrs.stats.fullBlocksVisited += full;
        attrs.stats.partialBlocksVisited += partial;
        attrs.stats.blocksVisited += full + partial;
        attrs.stats.maskEvaluations += maskEvaluations;
        attrs.stats.scoresComputed += scoresComputed;
      }
      return results.map((r) => device.upload(r));
    },
  });
}
