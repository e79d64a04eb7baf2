import {
  type AttentionOptions,
  attention,
  attentionWeights,
  type CausalAlignment,
  roundToFloat16,
  type Tensor,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose, type Tolerance } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { readBroadcast, refSoftmax, size, unravel } from '../reference.js';

export interface HostTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface RefOptions {
  mask?: HostTensor & { bool: boolean };
  bias?: HostTensor;
  slopes?: readonly number[];
  isCausal?: boolean;
  alignment?: CausalAlignment;
  scale?: number;
  softcap?: number;
  kvLength?: number;
}

/** The sizes of a reference attention problem (rank 2 is one head, no batch). */
export function refDims(q: HostTensor, k: HostTensor, v: HostTensor, o: RefOptions) {
  const r = q.shape.length;
  const [hq, l, e] = (r >= 3 ? q.shape.slice(-3) : [1, ...q.shape]) as [number, number, number];
  const [hkv, cap] = (r >= 3 ? k.shape.slice(-3) : [1, k.shape[0]!]) as [number, number];
  const s = o.kvLength ?? cap;
  return {
    hq,
    l,
    e,
    hkv,
    cap,
    ev: v.shape.at(-1)!,
    s,
    batch: size(q.shape.slice(0, Math.max(0, r - 3))),
    scale: o.scale ?? 1 / Math.sqrt(e),
  };
}

/**
 * Float64 attention straight from its definition: the full score matrix of each head, each
 * element from explicit multi-indices. Returns the probabilities, the output and each row's
 * log-sum-exp over its final scores (-inf for a fully masked row).
 */
export function refAttention(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  o: RefOptions,
): { weights: number[]; out: number[]; lse: number[] } {
  const { hq, l, e, hkv, cap, ev, s, batch, scale } = refDims(q, k, v, o);
  const scoreShape = [...q.shape.slice(0, Math.max(0, q.shape.length - 3)), hq, l, s];
  const offset = o.alignment === 'bottom-right' ? s - l : 0;
  const weights: number[] = [];
  const out: number[] = [];
  const lse: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq!; h++) {
      const g = Math.floor(h / (hq! / hkv!));
      for (let i = 0; i < l!; i++) {
        const row: number[] = [];
        for (let j = 0; j < s; j++) {
          const scoreIndex = unravel(((b * hq! + h) * l! + i) * s + j, scoreShape);
          let dot = 0;
          for (let p = 0; p < e!; p++) {
            dot +=
              q.data[((b * hq! + h) * l! + i) * e! + p]! *
              k.data[((b * hkv! + g) * cap! + j) * e! + p]!;
          }
          let score = dot * scale;
          if (o.softcap) score = o.softcap * Math.tanh(score / o.softcap);
          if (o.bias) score += readBroadcast(o.bias.data, o.bias.shape, scoreIndex);
          if (o.slopes) score += -o.slopes[h]! * Math.abs(i + offset - j);
          const m = o.mask ? readBroadcast(o.mask.data, o.mask.shape, scoreIndex) : 1;
          if (o.mask && !o.mask.bool) score += m;
          const allowed = (!o.mask?.bool || m !== 0) && (!o.isCausal || j <= i + offset);
          row.push(allowed ? score : Number.NEGATIVE_INFINITY);
        }
        const p = refSoftmax(row);
        weights.push(...p);
        lse.push(refLogSumExp(row));
        for (let c = 0; c < ev; c++) {
          let acc = 0;
          for (let j = 0; j < s; j++) acc += p[j]! * v.data[((b * hkv! + g) * cap! + j) * ev + c]!;
          out.push(acc);
        }
      }
    }
  }
  return { weights, out, lse };
}

/** log Σ exp(row), shifted by the row's max; -inf when every entry is -inf. */
function refLogSumExp(row: readonly number[]): number {
  const m = Math.max(...row);
  if (m === Number.NEGATIVE_INFINITY) return m;
  return m + Math.log(row.reduce((acc, x) => acc + Math.exp(x - m), 0));
}

export interface Scenario {
  q: number[];
  k: number[];
  v: number[];
  /** `[shape, bool?]`, drawn at random (bool masks allow about 70%). */
  mask?: [number[], boolean];
  bias?: number[];
  alibi?: boolean;
  options?: Omit<AttentionOptions, 'attnMask' | 'bias' | 'alibiSlopes'>;
  /** Rows to force fully masked in a bool mask (the mask's own row indices). */
  maskedRows?: number[];
}

export const SCENARIOS: Record<string, Scenario> = {
  'one head, odd sizes': { q: [5, 7], k: [9, 7], v: [9, 3] },
  'batched heads, L != S, E != Ev': { q: [2, 3, 5, 11], k: [2, 3, 13, 11], v: [2, 3, 13, 6] },
  'two batch dims': { q: [2, 2, 1, 4, 8], k: [2, 2, 1, 3, 8], v: [2, 2, 1, 3, 8] },
  'long key row (S = 300)': { q: [1, 2, 3, 16], k: [1, 2, 300, 16], v: [1, 2, 300, 5] },
  'bool mask [L, S]': { q: [2, 2, 6, 8], k: [2, 2, 7, 8], v: [2, 2, 7, 8], mask: [[6, 7], true] },
  'bool key-padding mask [B, 1, 1, S]': {
    q: [3, 2, 4, 8],
    k: [3, 2, 9, 8],
    v: [3, 2, 9, 8],
    mask: [[3, 1, 1, 9], true],
  },
  'float mask [H, L, S]': {
    q: [2, 3, 4, 8],
    k: [2, 3, 5, 8],
    v: [2, 3, 5, 8],
    mask: [[3, 4, 5], false],
  },
  'fully masked rows give zeros': {
    q: [1, 2, 5, 4],
    k: [1, 2, 6, 4],
    v: [1, 2, 6, 4],
    mask: [[5, 6], true],
    maskedRows: [0, 3],
  },
  'causal top-left, L < S': {
    q: [1, 2, 4, 8],
    k: [1, 2, 7, 8],
    v: [1, 2, 7, 8],
    options: { isCausal: true },
  },
  'causal top-left, L > S': {
    q: [1, 2, 7, 8],
    k: [1, 2, 4, 8],
    v: [1, 2, 4, 8],
    options: { isCausal: true },
  },
  'causal bottom-right, L < S': {
    q: [1, 2, 3, 8],
    k: [1, 2, 10, 8],
    v: [1, 2, 10, 8],
    options: { isCausal: true, causalAlignment: 'bottom-right' },
  },
  'causal bottom-right, L > S (leading rows fully masked)': {
    q: [1, 1, 6, 8],
    k: [1, 1, 4, 8],
    v: [1, 1, 4, 8],
    options: { isCausal: true, causalAlignment: 'bottom-right' },
  },
  'causal AND bool mask': {
    q: [2, 2, 6, 8],
    k: [2, 2, 6, 8],
    v: [2, 2, 6, 8],
    mask: [[2, 1, 6, 6], true],
    options: { isCausal: true },
  },
  'grouped-query (Hq 6, Hkv 2)': {
    q: [2, 6, 5, 8],
    k: [2, 2, 7, 8],
    v: [2, 2, 7, 3],
    options: { enableGqa: true, isCausal: true },
  },
  'multi-query (Hkv 1) with float mask': {
    q: [1, 4, 5, 8],
    k: [1, 1, 5, 8],
    v: [1, 1, 5, 8],
    mask: [[1, 4, 5, 5], false],
    options: { enableGqa: true },
  },
  'scale 1 (T5)': { q: [1, 2, 4, 6], k: [1, 2, 5, 6], v: [1, 2, 5, 6], options: { scale: 1 } },
  'softcap with bias': {
    q: [1, 2, 4, 8],
    k: [1, 2, 5, 8],
    v: [1, 2, 5, 8],
    bias: [2, 4, 5],
    options: { softcap: 0.7, scale: 2 },
  },
  'ALiBi, causal bottom-right': {
    q: [1, 3, 3, 8],
    k: [1, 3, 6, 8],
    v: [1, 3, 6, 8],
    alibi: true,
    options: { isCausal: true, causalAlignment: 'bottom-right' },
  },
  'ALiBi, non-causal': { q: [2, 2, 4, 8], k: [2, 2, 4, 8], v: [2, 2, 4, 8], alibi: true },
  'kvLength < S (preallocated cache)': {
    q: [1, 2, 2, 8],
    k: [1, 2, 16, 8],
    v: [1, 2, 16, 8],
    mask: [[2, 9], false],
    options: { kvLength: 9, isCausal: true, causalAlignment: 'bottom-right' },
  },
  // Tiled GPU kernels: query rows across a 64-row tile boundary, keys not a multiple of a key
  // tile, a causal diagonal crossing both; single-query decoding split over many keys; E = 256.
  'query tile boundary (L = 66, S = 45), causal bottom-right': {
    q: [1, 1, 66, 9],
    k: [1, 1, 45, 9],
    v: [1, 1, 45, 5],
    options: { isCausal: true, causalAlignment: 'bottom-right' },
  },
  'decode L = 1 over S = 333 keys, GQA, key-padding mask': {
    q: [2, 4, 1, 8],
    k: [2, 2, 333, 8],
    v: [2, 2, 333, 8],
    mask: [[2, 1, 1, 333], true],
    options: { enableGqa: true },
  },
  'head dim 256': { q: [1, 1, 5, 256], k: [1, 1, 7, 256], v: [1, 1, 7, 256] },
};

/** Scores are sums of E products then a softmax: f32 error grows slowly with E and S. */
export const F32: Tolerance = { atol: 2e-6, rtol: 2e-5 };

/** Random inputs for a scenario, its float64 reference and the options both sides use. */
export function prepare(ctx: CaseContext, sc: Scenario) {
  const q = ctx.random(sc.q, { low: -2, high: 2 });
  const k = ctx.random(sc.k, { low: -2, high: 2 });
  const v = ctx.random(sc.v);
  const options: AttentionOptions = { ...sc.options };
  const ref: RefOptions = {
    isCausal: sc.options?.isCausal,
    alignment: sc.options?.causalAlignment,
    scale: sc.options?.scale,
    softcap: sc.options?.softcap,
    kvLength: sc.options?.kvLength,
  };
  if (sc.mask) {
    const [shape, bool] = sc.mask;
    const drawn = ctx.random(shape, bool ? { low: 0, high: 1 } : { low: -3, high: 1 });
    let data = bool ? drawn.values.map((x) => (x < 0.7 ? 1 : 0)) : drawn.values;
    if (sc.maskedRows) {
      const cols = shape.at(-1)!;
      data = data.map((x, idx) =>
        sc.maskedRows!.includes(Math.floor(idx / cols) % shape.at(-2)!) ? 0 : x,
      );
    }
    options.attnMask = bool
      ? ctx.tensor(data.map(Boolean), shape, 'bool')
      : ctx.tensor(data, shape);
    ref.mask = { data, shape, bool };
  }
  if (sc.bias) {
    const b = ctx.random(sc.bias, { low: -1, high: 1 });
    options.bias = b.t;
    ref.bias = { data: b.values, shape: sc.bias };
  }
  if (sc.alibi) {
    const heads = sc.q.at(-3)!;
    // ALiBi slopes for n heads, Press et al. 2022: 2^(-8 i / n), i = 1..n.
    const slopes = Array.from({ length: heads }, (_, i) => 2 ** ((-8 * (i + 1)) / heads));
    options.alibiSlopes = ctx.tensor(slopes, [heads]);
    ref.slopes = slopes.map(Math.fround);
  }
  const host = {
    q: { data: q.values, shape: sc.q },
    k: { data: k.values, shape: sc.k },
    v: { data: v.values, shape: sc.v },
  };
  const expected = refAttention(host.q, host.k, host.v, ref);
  return { q: q.t, k: k.t, v: v.t, options, expected, ref, host };
}

export function expectedShapes(sc: Scenario): { out: number[]; weights: number[] } {
  const s = sc.options?.kvLength ?? sc.k.at(-2)!;
  return {
    out: [...sc.q.slice(0, -1), sc.v.at(-1)!],
    weights: [...sc.q.slice(0, -1), s],
  };
}

export const attentionCases: CaseGroup = {};

for (const [name, sc] of Object.entries(SCENARIOS)) {
  attentionCases[`attention: ${name}`] = async (ctx) => {
    const { q, k, v, options, expected } = prepare(ctx, sc);
    const out = attention(q, k, v, options);
    expect(out.shape).toEqual(expectedShapes(sc).out);
    expectClose(await ctx.read(out), expected.out, F32, name);
  };
  attentionCases[`attentionWeights: ${name}`] = async (ctx) => {
    const { q, k, options, expected } = prepare(ctx, sc);
    const weights = attentionWeights(q, k, options);
    expect(weights.shape).toEqual(expectedShapes(sc).weights);
    expectClose(await ctx.read(weights), expected.weights, F32, name);
  };
}

attentionCases['fully masked rows are exactly zero, never NaN'] = async (ctx) => {
  const { q, k, v, options } = prepare(ctx, SCENARIOS['fully masked rows give zeros']!);
  const out = await ctx.read(attention(q, k, v, options));
  // Rows 0 and 3 of each of the 2 heads, 4 values each.
  for (const h of [0, 1]) {
    for (const i of [0, 3]) {
      expect(out.slice((h * 5 + i) * 4, (h * 5 + i + 1) * 4)).toEqual([0, 0, 0, 0]);
    }
  }
  expect(out.some(Number.isNaN)).toBe(false);
};

attentionCases['float16 inputs give float16 outputs'] = async (ctx) => {
  const q = ctx.random([1, 2, 5, 8], { dtype: 'float16' });
  const k = ctx.random([1, 2, 6, 8], { dtype: 'float16' });
  const v = ctx.random([1, 2, 6, 8], { dtype: 'float16' });
  const shapes = { q: [1, 2, 5, 8], k: [1, 2, 6, 8] };
  const ref = refAttention(
    { data: q.values, shape: shapes.q },
    { data: k.values, shape: shapes.k },
    { data: v.values, shape: shapes.k },
    { isCausal: true },
  );
  const out = attention(q.t, k.t, v.t, { isCausal: true });
  expect(out.dtype).toBe('float16');
  expectClose(await ctx.read(out), ref.out.map(roundToFloat16), ctx.tol('float16'));
};

attentionCases['bad shapes and mismatched heads give clear errors'] = (ctx) => {
  const t = (shape: number[]): Tensor => ctx.random(shape).t;
  const q = t([2, 4, 3, 8]);
  const k = t([2, 2, 5, 8]);
  const v = t([2, 2, 5, 8]);
  expect(() => attention(q, k, v)).toThrow(
    /attention: q \[2, 4, 3, 8\] float32 has 4 heads but k \[2, 2, 5, 8\] float32 has 2; pass enableGqa/,
  );
  expect(() => attention(q, t([2, 3, 5, 8]), t([2, 3, 5, 8]), { enableGqa: true })).toThrow(
    /query heads \(4.*must be a multiple of key\/value heads \(3/,
  );
  expect(() => attention(t([2, 2, 3, 7]), k, v)).toThrow(/must share the last dimension E/);
  expect(() => attention(t([3, 2, 3, 8]), k, v)).toThrow(/batch dimensions differ/);
  expect(() => attention(t([2, 2, 3, 8]), k, t([2, 2, 4, 8]))).toThrow(/same heads and length S/);
  expect(() => attention(t([2, 2, 3, 8]), k, v, { attnMask: t([3, 4]) })).toThrow(
    /mask \[3, 4\] float32 must broadcast to the scores \[2, 2, 3, 5\]/,
  );
  expect(() => attention(t([2, 2, 3, 8]), k, v, { alibiSlopes: t([3]) })).toThrow(
    /alibiSlopes must be \[2\]/,
  );
  expect(() => attention(t([2, 2, 3, 8]), k, v, { kvLength: 6 })).toThrow(
    /kvLength 6 must be an integer in \[0, 5\]/,
  );
  expect(() => attention(t([8]), t([8]), t([8]))).toThrow(/rank >= 2/);
};
