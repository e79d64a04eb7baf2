import type { AttentionDims } from '../ops/attention.js';
import { type BlockSparseAttentionAttrs, blockTableRow } from '../ops/block-sparse-attention.js';
import type { KernelContext } from '../registry.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { dot } from './online-softmax.js';

type Ctx = KernelContext<BlockSparseAttentionAttrs, AttentionDims>;

/**
 * Calls `visit(row, qOff, kvRow, s, grad)` for every key a query row attends, over exactly
 * the blocks the forward visits (full blocks without the mask, partial ones through it):
 * `row` is the flat query row, `qOff` its offset in q, `kvRow` the key's row in k / v (GQA
 * folded), `s` the final score and `grad` the score modifier's derivative at the raw score
 * (1 without a modifier, and when `withGrad` is false).
 */
function forEachAttended(
  ctx: Ctx,
  visit: (row: number, qOff: number, kvRow: number, s: number, grad: number) => void,
  withGrad = false,
): void {
  const d = ctx.plan;
  const { blocks: m, scale } = ctx.attrs;
  const { mask, scoreMod } = ctx.attrs.mods;
  const scoreModGrad = withGrad ? ctx.attrs.mods.scoreModGrad : undefined;
  const q = cpuData(ctx.inputs[0]!);
  const k = cpuData(ctx.inputs[1]!);
  const E = d.headDim;
  for (let bi = 0; bi < d.batch; bi++) {
    for (let hi = 0; hi < d.qHeads; hi++) {
      const kvBase = (bi * d.kvHeads + Math.floor(hi / d.groupSize)) * d.kvLength;
      const rowBase = (bi * d.qHeads + hi) * d.queryLength;
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        const r = blockTableRow(m, bi, hi, qb);
        const qEnd = Math.min((qb + 1) * m.blockQ, d.queryLength);
        for (let qi = qb * m.blockQ; qi < qEnd; qi++) {
          const row = rowBase + qi;
          for (const masked of [false, true]) {
            const [offsets, list] = masked
              ? [m.partialOffsets, m.partialIndices]
              : [m.fullOffsets, m.fullIndices];
            for (let x = offsets[r]!; x < offsets[r + 1]!; x++) {
              const kb = list[x]!;
              const kEnd = Math.min((kb + 1) * m.blockKv, d.kvLength);
              for (let ki = kb * m.blockKv; ki < kEnd; ki++) {
                if (masked && mask && !mask(bi, hi, qi, ki)) continue;
                const raw = dot(q, row * E, k, (kvBase + ki) * E, E) * scale;
                const s = scoreMod ? scoreMod(bi, hi, qi, ki, raw) : raw;
                const grad = scoreModGrad ? scoreModGrad(bi, hi, qi, ki, raw) : 1;
                visit(row, row * E, kvBase + ki, s, grad);
              }
            }
          }
        }
      }
    }
  }
}

export function registerBlockSparseAttentionBackwardKernels(): void {
  // Two sweeps per row (max, then Σ exp) keep the sum from overflowing; float64 throughout.
  registerCpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    'blockSparseAttentionLse',
    (ctx, [out]) => {
      const max = new Float64Array(out!.length).fill(Number.NEGATIVE_INFINITY);
      const sum = new Float64Array(out!.length);
      forEachAttended(ctx, (row, _q, _kv, s) => {
        if (s > max[row]!) max[row] = s;
      });
      forEachAttended(ctx, (row, _q, _kv, s) => {
        if (max[row] !== Number.NEGATIVE_INFINITY) sum[row]! += Math.exp(s - max[row]!);
      });
      for (let row = 0; row < out!.length; row++) {
        const m = max[row]!;
        out![row] = m === Number.NEGATIVE_INFINITY ? m : m + Math.log(sum[row]!);
      }
    },
  );

  // The dense backward's per-key terms (see BlockSparseAttentionBackwardOp), accumulated in
  // float64 over the attended keys only; a row with lse = -inf attends nothing and adds 0.
  // A score modifier's derivative multiplies dS (the op checks the mods carry one).
  registerCpuKernel<BlockSparseAttentionAttrs, AttentionDims>(
    'blockSparseAttentionBackward',
    (ctx, [dq, dk, dv]) => {
      const [q, k, v, dOut, lse, delta] = ctx.inputs.map((t) => cpuData(t));
      const { headDim: E, valueDim: Ev } = ctx.plan;
      const { scale } = ctx.attrs;
      const dQ = new Float64Array(dq!.length);
      const dK = new Float64Array(dk!.length);
      const dV = new Float64Array(dv!.length);
      forEachAttended(
        ctx,
        (row, qOff, kvRow, s, grad) => {
          const p = Math.exp(s - lse![row]!);
          const oOff = row * Ev;
          const vOff = kvRow * Ev;
          let dp = 0;
          for (let c = 0; c < Ev; c++) {
            dp += dOut![oOff + c]! * v![vOff + c]!;
            dV[vOff + c]! += p * dOut![oOff + c]!;
          }
          // The chain rule through the score modifier: dRaw = dS · mod'(raw).
          const g = p * (dp - delta![row]!) * grad * scale;
          const kOff = kvRow * E;
          for (let c = 0; c < E; c++) {
            dQ[qOff + c]! += g * k![kOff + c]!;
            dK[kOff + c]! += g * q![qOff + c]!;
          }
        },
        true,
      );
      dq!.set(dQ);
      dk!.set(dK);
      dv!.set(dV);
    },
  );
}
