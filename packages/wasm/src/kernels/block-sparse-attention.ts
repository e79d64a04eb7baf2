import {
  type AttentionDims,
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  type BlockTables,
  blockTableRow,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { attentionHeads } from './batch.js';

type Mask = NonNullable<BlockSparseAttentionAttrs['mods']['mask']>;

/**
 * What the kernel of assembly/block-sparse.ts reads for every (batch, query head): its visit
 * table (i32: offsets per query block, then (key block, mask address) pairs) and the mask
 * bytes of its partial blocks, plus the work counted the way the reference counts it.
 */
interface VisitPlan {
  /** Per head, in i32s: its table's start in `tables`. */
  heads: { table: number; masks: number }[];
  tables: Int32Array;
  maskBytes: number;
  stats: { full: number; partial: number; maskEvaluations: number; scoresComputed: number };
}

function planVisits(d: AttentionDims, m: BlockTables, hasMask: boolean): VisitPlan {
  const heads: VisitPlan['heads'] = [];
  let ints = 0;
  let maskBytes = 0;
  const blockArea = m.blockQ * m.blockKv;
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      heads.push({ table: ints, masks: maskBytes });
      const first = blockTableRow(m, b, h, 0);
      const last = first + m.numQBlocks;
      const full = m.fullOffsets[last]! - m.fullOffsets[first]!;
      const partial = m.partialOffsets[last]! - m.partialOffsets[first]!;
      ints += m.numQBlocks + 1 + 2 * (full + partial);
      if (hasMask) maskBytes += partial * blockArea;
    }
  }
  return {
    heads,
    tables: new Int32Array(ints),
    maskBytes,
    stats: { full: 0, partial: 0, maskEvaluations: 0, scoresComputed: 0 },
  };
}

/**
 * Fill the visit tables (mask addresses relative to `maskBase`) and the mask bytes: one mask
 * evaluation per element of each partial block, as the reference does.
 */
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
  let head = 0;
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      const { table } = plan.heads[head++]!;
      let maskAt = plan.heads[head - 1]!.masks;
      let visit = 0;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        tables[table + qb] = visit;
        const qStart = qb * m.blockQ;
        const qEnd = Math.min(qStart + m.blockQ, d.queryLength);
        const r = blockTableRow(m, b, h, qb);
        const visits = table + m.numQBlocks + 1;
        for (let j = m.fullOffsets[r]!; j < m.fullOffsets[r + 1]!; j++) {
          const kb = m.fullIndices[j]!;
          tables[visits + 2 * visit] = kb;
          tables[visits + 2 * visit++ + 1] = 0;
          stats.full++;
          stats.scoresComputed += (qEnd - qStart) * blockLength(m, d, kb);
        }
        for (let j = m.partialOffsets[r]!; j < m.partialOffsets[r + 1]!; j++) {
          const kb = m.partialIndices[j]!;
          tables[visits + 2 * visit] = kb;
          tables[visits + 2 * visit++ + 1] = mask ? maskBase + maskAt : 0;
          stats.partial++;
          const kStart = kb * m.blockKv;
          const kEnd = kStart + blockLength(m, d, kb);
          if (!mask) {
            stats.scoresComputed += (qEnd - qStart) * (kEnd - kStart);
            continue;
          }
          for (let qi = qStart; qi < qEnd; qi++) {
            const rowAt = maskAt + (qi - qStart) * m.blockKv - kStart;
            for (let ki = kStart; ki < kEnd; ki++) {
              const on = mask(b, h, qi, ki) ? 1 : 0;
              maskView[rowAt + ki] = on;
              stats.scoresComputed += on;
            }
          }
          stats.maskEvaluations += (qEnd - qStart) * (kEnd - kStart);
          maskAt += blockArea;
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
 * key blocks only, query blocks dealt round-robin over the threads. A score modifier is a
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
      const extra = [
        sizeOf(spec.shape) * 4,
        visits.tables.length * 4,
        visits.maskBytes,
        ...Array<number>(threads).fill(scratchBytes),
      ];
      const out = wasm.withOperands(operands, extra, (pointers) => {
        const [pq, pk, pv, po, pTables, pMasks, ...scratch] = pointers;
        const maskView = new Uint8Array(wasm.exports.memory.buffer, pMasks!, visits.maskBytes);
        fillVisits(visits, d, m, mask, pMasks!, maskView);
        new Int32Array(wasm.exports.memory.buffer, pTables!, visits.tables.length).set(
          visits.tables,
        );
        const calls = scratch.map((scratchAt, t): KernelCall[] => {
          if (t >= m.numQBlocks) return [];
          return attentionHeads(d, [pq!, pk!, pv!, po!]).map((head): KernelCall => {
            const table = pTables! + visits.heads[head.qHead]!.table * 4;
            return [
              'blockSparseHead',
              [
                head.q,
                head.k,
                head.v,
                head.out,
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
        return wasm.f32(po!, sizeOf(spec.shape)).slice();
      });
      if (attrs.stats) {
        const { full, partial, maskEvaluations, scoresComputed } = visits.stats;
        attrs.stats.fullBlocksVisited += full;
        attrs.stats.partialBlocksVisited += partial;
        attrs.stats.blocksVisited += full + partial;
        attrs.stats.maskEvaluations += maskEvaluations;
        attrs.stats.scoresComputed += scoresComputed;
      }
      return [device.upload(out)];
    },
  });
}
