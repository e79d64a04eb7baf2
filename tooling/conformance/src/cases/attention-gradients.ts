import { attention, valueAndGrads } from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose, type Tolerance } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import { size } from '../reference.js';
import {
  type HostTensor,
  prepare,
  type RefOptions,
  refAttention,
  refDims,
  type Scenario,
} from './attention.js';

// The gradient of `attention` against float64 gradients from its definition, on shapes that
// sit below, at and between multiples of the backward kernels' tiles (64 rows a workgroup,
// staged tiles of 4 to 64 rows) and on every score feature. The PyTorch fixtures check the
// formulas on small shapes; these check that no tile boundary, GQA group or causal skip
// drops or repeats a term.

/**
 * Float64 dQ, dK, dV of `attention` for output gradient `dOut`: with P the reference
 * probabilities, dV_j = Σ_i P_ij dOut_i and dS_ij = P_ij (dOut_i · v_j − Σ_j' P_ij' dOut_i · v_j')
 * · softcap'(s_ij) · scale, dQ_i = Σ_j dS_ij k_j, dK_j = Σ_i dS_ij q_i, summed over the query
 * heads of each key/value head. Keys past kvLength get zero.
 */
export function refAttentionGrads(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  dOut: ArrayLike<number>,
  o: RefOptions,
): { dq: number[]; dk: number[]; dv: number[] } {
  const { weights } = refAttention(q, k, v, o);
  const { hq, l, e, hkv, cap, ev, s, batch, scale } = refDims(q, k, v, o);
  const dq = new Array<number>(size(q.shape)).fill(0);
  const dk = new Array<number>(size(k.shape)).fill(0);
  const dv = new Array<number>(size(v.shape)).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      const g = Math.floor(h / (hq / hkv));
      for (let i = 0; i < l; i++) {
        const row = (b * hq + h) * l + i;
        const p = weights.slice(row * s, (row + 1) * s);
        const kRow = (j: number) => ((b * hkv + g) * cap + j) * e;
        const vRow = (j: number) => ((b * hkv + g) * cap + j) * ev;
        const dp = p.map((_, j) => {
          let acc = 0;
          for (let c = 0; c < ev; c++) acc += dOut[row * ev + c]! * v.data[vRow(j) + c]!;
          return acc;
        });
        const delta = p.reduce((acc, pj, j) => acc + (pj === 0 ? 0 : pj * dp[j]!), 0);
        for (let j = 0; j < s; j++) {
          if (p[j] === 0) continue;
          let ds = p[j]! * (dp[j]! - delta) * scale;
          if (o.softcap) {
            let dot = 0;
            for (let c = 0; c < e; c++) dot += q.data[row * e + c]! * k.data[kRow(j) + c]!;
            ds *= 1 - Math.tanh((dot * scale) / o.softcap) ** 2;
          }
          for (let c = 0; c < ev; c++) dv[vRow(j) + c]! += p[j]! * dOut[row * ev + c]!;
          for (let c = 0; c < e; c++) {
            dq[row * e + c]! += ds * k.data[kRow(j) + c]!;
            dk[kRow(j) + c]! += ds * q.data[row * e + c]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** Gradients are sums of L or S float32 products of sums: looser than the forward. */
const GRAD: Tolerance = { atol: 2e-5, rtol: 1e-4 };

const SCENARIOS: Record<string, Scenario> = {};
const add = (name: string, sc: Scenario) => {
  SCENARIOS[name] = sc;
};

// Query and key lengths below, at and between multiples of the tiles, head dim 8.
for (const [l, s] of [
  [1, 1],
  [15, 17],
  [16, 16],
  [17, 33],
  [33, 70],
  [70, 15],
  [65, 64],
]) {
  add(`L = ${l}, S = ${s}`, { q: [1, 2, l!, 8], k: [1, 2, s!, 8], v: [1, 2, s!, 8] });
}
// GQA: 4 query heads over 4, 2 and 1 key/value heads.
for (const kvHeads of [4, 2, 1]) {
  add(`GQA group of ${4 / kvHeads}, L = 33, S = 70`, {
    q: [1, 4, 33, 8],
    k: [1, kvHeads, 70, 8],
    v: [1, kvHeads, 70, 8],
    options: { enableGqa: true },
  });
}
// Causal, both alignments, L < S, L > S and L past a workgroup of rows.
for (const causalAlignment of ['top-left', 'bottom-right'] as const) {
  for (const [l, s] of [
    [17, 70],
    [70, 17],
    [70, 70],
  ]) {
    add(`causal ${causalAlignment}, L = ${l}, S = ${s}`, {
      q: [2, 2, l!, 8],
      k: [2, 1, s!, 8],
      v: [2, 1, s!, 8],
      options: { isCausal: true, causalAlignment, enableGqa: true },
    });
  }
}
// Head dims: E = Ev 40 and 64, E ≠ Ev, 300 (the largest tiles do not fit in 16 or 32 KiB of
// workgroup memory) and 512 (four-row tiles fit in 32 KiB; with 16 KiB the per-row kernels run).
for (const [e, ev, l, s] of [
  [40, 40, 17, 33],
  [64, 64, 33, 70],
  [40, 24, 17, 33],
  [300, 300, 17, 33],
  [512, 512, 5, 7],
]) {
  add(`E = ${e}, Ev = ${ev}, L = ${l}, S = ${s}`, {
    q: [1, 2, l!, e!],
    k: [1, 2, s!, e!],
    v: [1, 2, s!, ev!],
  });
}
add('bool mask with fully masked rows, GQA', {
  q: [2, 4, 17, 8],
  k: [2, 2, 33, 8],
  v: [2, 2, 33, 8],
  mask: [[2, 1, 17, 33], true],
  maskedRows: [0, 16],
  options: { enableGqa: true },
});
add('float mask, bias, ALiBi, scale and softcap', {
  q: [1, 2, 33, 16],
  k: [1, 2, 70, 16],
  v: [1, 2, 70, 12],
  mask: [[33, 70], false],
  bias: [1, 2, 1, 70],
  alibi: true,
  options: { scale: 0.3, softcap: 2.5 },
});
add('kvLength < capacity, causal bottom-right', {
  q: [1, 2, 17, 8],
  k: [1, 2, 70, 8],
  v: [1, 2, 70, 8],
  options: { kvLength: 40, isCausal: true, causalAlignment: 'bottom-right' },
});

export const attentionGradientCases: CaseGroup = {};

for (const [name, sc] of Object.entries(SCENARIOS)) {
  attentionGradientCases[`attention gradients: ${name}`] = async (ctx) => {
    const { q, k, v, options, ref, host } = prepare(ctx, sc);
    const outShape = [...sc.q.slice(0, -1), sc.v.at(-1)!];
    const dy = ctx.random(outShape);
    const expected = refAttentionGrads(host.q, host.k, host.v, dy.values, ref);
    const { value, grads } = valueAndGrads((a, b, c) => attention(a!, b!, c!, options))(
      [q, k, v],
      dy.t,
    );
    value.dispose();
    for (const [i, key] of (['dq', 'dk', 'dv'] as const).entries()) {
      expect(grads[i]!.shape).toEqual([sc.q, sc.k, sc.v][i]);
      expectClose(await ctx.read(grads[i]!), expected[key], GRAD, `${name}: ${key}`);
    }
  };
}

attentionGradientCases['attention gradients: float16 in, float16 gradients, causal, L = 70'] =
  async (ctx) => {
    const shape = { q: [1, 2, 70, 8], k: [1, 1, 33, 8], v: [1, 1, 33, 8] };
    const [q, k, v] = [shape.q, shape.k, shape.v].map((s) => ctx.random(s, { dtype: 'float16' }));
    const dy = ctx.random([1, 2, 70, 8], { dtype: 'float16' });
    const ref: RefOptions = { isCausal: true, alignment: 'bottom-right' };
    const expected = refAttentionGrads(
      { data: q!.values, shape: shape.q },
      { data: k!.values, shape: shape.k },
      { data: v!.values, shape: shape.v },
      dy.values,
      ref,
    );
    const options = { isCausal: true, causalAlignment: 'bottom-right', enableGqa: true } as const;
    const { value, grads } = valueAndGrads((a, b, c) => attention(a!, b!, c!, options))(
      [q!.t, k!.t, v!.t],
      dy.t,
    );
    value.dispose();
    // delta = rowsum(dOut ∘ out) is taken from the float16 output: errors near float16's epsilon.
    const tol: Tolerance = { atol: 1e-2, rtol: 1e-2 };
    for (const [i, key] of (['dq', 'dk', 'dv'] as const).entries()) {
      expect(grads[i]!.dtype).toBe('float16');
      expectClose(await ctx.read(grads[i]!), expected[key], tol, `float16 ${key}`);
    }
  };
