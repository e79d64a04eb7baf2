import type { AttentionDims } from '../ops/attention.js';
import {
  BLOCK_SPARSE_ATTENTION,
  type BlockSparseAttentionAttrs,
  blockTableRow,
} from '../ops/block-sparse-attention.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { dot, SoftmaxRow } from './online-softmax.js';

/**
 * The CPU kernel of `blockSparseAttention`: per query row, the full key blocks (no mask
 * evaluation) then the partial ones (mask per key), folded into an online softmax one block
 * at a time, in float64, writing each row's log-sum-exp too when `lse` is given. Counts its
 * work into `attrs.stats` when given.
 */
function blockSparseCpu(
  d: AttentionDims,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  out: { [i: number]: number },
  lse: { [i: number]: number } | undefined,
  attrs: BlockSparseAttentionAttrs,
): void {
  const { blocks: m, scale, stats } = attrs;
  const { mask, scoreMod } = attrs.mods;
  const row = new SoftmaxRow(d.valueDim);
  const scores = new Float64Array(m.blockKv);
  const valueRows = new Int32Array(m.blockKv);
  const E = d.headDim;
  const Ev = d.valueDim;
  const counts = { full: 0, partial: 0 };
  let maskEvaluations = 0;
  let scoresComputed = 0;

  for (let bi = 0; bi < d.batch; bi++) {
    for (let hi = 0; hi < d.qHeads; hi++) {
      // Grouped-query attention: query head hi reads k / v head floor(hi / groupSize).
      const kvBase = (bi * d.kvHeads + Math.floor(hi / d.groupSize)) * d.kvLength;
      const outBase = (bi * d.qHeads + hi) * d.queryLength;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        const r = blockTableRow(m, bi, hi, qb);
        const [fullFrom, fullTo] = [m.fullOffsets[r]!, m.fullOffsets[r + 1]!];
        const [partFrom, partTo] = [m.partialOffsets[r]!, m.partialOffsets[r + 1]!];
        counts.full += fullTo - fullFrom;
        counts.partial += partTo - partFrom;
        const qEnd = Math.min((qb + 1) * m.blockQ, d.queryLength);
        for (let qi = qb * m.blockQ; qi < qEnd; qi++) {
          row.reset();
          const qOff = (outBase + qi) * E;
          // Full blocks first (no mask evaluation), then partial ones.
          for (let phase = 0; phase < 2; phase++) {
            const masked = phase === 1;
            const list = masked ? m.partialIndices : m.fullIndices;
            const to = masked ? partTo : fullTo;
            for (let j = masked ? partFrom : fullFrom; j < to; j++) {
              const kb = list[j]!;
              const kEnd = Math.min((kb + 1) * m.blockKv, d.kvLength);
              let n = 0;
              for (let ki = kb * m.blockKv; ki < kEnd; ki++) {
                if (masked && mask) {
                  maskEvaluations++;
                  if (!mask(bi, hi, qi, ki)) continue;
                }
                const s = dot(q, qOff, k, (kvBase + ki) * E, E) * scale;
                scores[n] = scoreMod ? scoreMod(bi, hi, qi, ki, s) : s;
                valueRows[n++] = (kvBase + ki) * Ev;
              }
              scoresComputed += n;
              row.addBlock(scores, valueRows, n, v);
            }
          }
          row.writeTo(out, (outBase + qi) * Ev);
          if (lse) lse[outBase + qi] = row.logSumExp();
        }
      }
    }
  }
  if (stats) {
    stats.fullBlocksVisited += counts.full;
    stats.partialBlocksVisited += counts.partial;
    stats.blocksVisited += counts.full + counts.partial;
    stats.maskEvaluations += maskEvaluations;
    stats.scoresComputed += scoresComputed;
  }
}

export function registerBlockSparseAttentionKernel(): void {
  registerCpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    BLOCK_SPARSE_ATTENTION,
    (ctx, [out, lse]) => {
      const [q, k, v] = ctx.inputs;
      blockSparseCpu(ctx.plan, cpuData(q!), cpuData(k!), cpuData(v!), out!, lse, ctx.attrs);
    },
  );
}
