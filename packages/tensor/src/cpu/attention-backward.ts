import type { AttentionAttrs, AttentionDims } from '../ops/attention.js';
import type { KernelContext } from '../registry.js';
import { RowScorer } from './attention.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';

/** A RowScorer over q, k and the optional inputs that follow `skip` leading inputs. */
function scorerFor(ctx: KernelContext<AttentionAttrs, AttentionDims>, skip: number): RowScorer {
  const [q, k, v] = ctx.inputs;
  const extras = ctx.inputs.slice(skip);
  // Without values (attentionLse), k stands in for v: scoring never reads v.
  return new RowScorer({ ...ctx, inputs: [q!, k!, v && skip > 2 ? v : k!, ...extras] }, true);
}

export function registerAttentionBackwardKernels(): void {
  registerCpuKernel<AttentionAttrs, AttentionDims>('attentionLse', (ctx, [out]) => {
    const scorer = scorerFor(ctx, 2);
    scorer.forEachRow((b, h, i, row) => {
      const max = scorer.score(b, h, i);
      out![row] = max === Number.NEGATIVE_INFINITY ? max : max + Math.log(scorer.exponentiate(max));
    });
  });

  // FlashAttention-2's backward (Dao 2023, Algorithm 2) one query row at a time: the row's
  // scores are recomputed (O(S) memory), turned into probabilities with the saved
  // log-sum-exp, and dQ, dK, dV accumulate in float64.
  registerCpuKernel<AttentionAttrs, AttentionDims>('attentionBackward', (ctx, [dq, dk, dv]) => {
    const scorer = scorerFor(ctx, 6);
    const { dims } = scorer;
    const { scale, softcap } = ctx.attrs;
    const [q, k, v, dOut, lse, delta] = ctx.inputs.map((t) => cpuData(t));
    const e = dims.headDim;
    const ev = dims.valueDim;
    const dQ = new Float64Array(dq!.length);
    const dK = new Float64Array(dk!.length);
    const dV = new Float64Array(dv!.length);
    scorer.forEachRow((b, h, i, row) => {
      const rowLse = lse![row]!;
      if (rowLse === Number.NEGATIVE_INFINITY) return; // fully masked: no gradient flows
      scorer.score(b, h, i);
      const kvHead = b * dims.kvHeads + Math.floor(h / dims.groupSize);
      const kBase = kvHead * dims.keyCapacity * e;
      const vBase = kvHead * dims.keyCapacity * ev;
      const qRow = row * e;
      const oRow = row * ev;
      for (let j = 0; j < dims.kvLength; j++) {
        const s = scorer.scores[j]!;
        if (s === Number.NEGATIVE_INFINITY) continue;
        const p = Math.exp(s - rowLse);
        let dp = 0;
        for (let c = 0; c < ev; c++) {
          dp += dOut![oRow + c]! * v![vBase + j * ev + c]!;
          dV[vBase + j * ev + c]! += p * dOut![oRow + c]!;
        }
        let ds = p * (dp - delta![row]!);
        if (softcap > 0) {
          // d/ds of cap·tanh(s/cap) is 1 − tanh²: recompute the raw score's tanh.
          let dot = 0;
          for (let c = 0; c < e; c++) dot += q![qRow + c]! * k![kBase + j * e + c]!;
          const t = Math.tanh((dot * scale) / softcap);
          ds *= 1 - t * t;
        }
        const g = ds * scale;
        for (let c = 0; c < e; c++) {
          dQ[qRow + c]! += g * k![kBase + j * e + c]!;
          dK[kBase + j * e + c]! += g * q![qRow + c]!;
        }
      }
    });
    dq!.set(dQ);
    dk!.set(dK);
    dv!.set(dV);
  });
}
