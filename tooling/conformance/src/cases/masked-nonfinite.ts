import {
  type AttentionOptions,
  attention,
  attentionWeights,
  attentionWithLse,
  type Tensor,
  valueAndGrads,
} from '@qkv/tensor';
import { expect } from 'vitest';
import type { Tolerance } from '../compare.js';
import { expectClose } from '../compare.js';
import type { CaseContext, CaseGroup } from '../harness.js';
import { type RefOptions, refAttention } from './attention.js';

/**
 * A masked key contributes nothing, whatever its k and v hold: NaN and ±Infinity placed at
 * masked keys (bool masks, float masks of -Infinity, key padding, causal futures, keys past
 * `kvLength`) must give the answer the same inputs give with finite values there. Query
 * lengths 3 and 7 take the split-K decode and the fused flash kernel on WebGPU.
 */

type MaskKind =
  | 'bool mask'
  | 'float mask of -Infinity'
  | 'key padding'
  | 'causal future'
  | 'kvLength';

interface Poisoned {
  kind: MaskKind;
  /** `[B, H, L, S]`; E = 5, Ev = 6 (not multiples of 4). */
  dims: [number, number, number, number];
  poison: number;
}

const F32: Tolerance = { atol: 2e-6, rtol: 2e-5 };
const E = 5;
const EV = 6;

function build(ctx: CaseContext, { kind, dims, poison }: Poisoned) {
  const [b, h, l, s] = dims;
  const q = ctx.random([b, h, l, E], { low: -2, high: 2 });
  const k = ctx.random([b, h, s, E], { low: -2, high: 2 });
  const v = ctx.random([b, h, s, EV]);
  // Poisoned keys: which (batch, key) pairs hold garbage. Each is masked for every query
  // row that is compared (causal futures are visible to later rows, which are not compared).
  const poisoned = (bi: number, j: number): boolean => {
    // Key L - 1 is a future for every query row but the last.
    if (kind === 'causal future') return j === l - 1;
    if (kind === 'kvLength') return j >= s - 2;
    if (kind === 'key padding') return j >= s - 1 - bi;
    return j === 1 || j === s - 1;
  };
  const options: AttentionOptions = {};
  const ref: RefOptions = {};
  const allowRandom = ctx.random([l, s], { low: 0, high: 1 }).values;
  if (kind === 'bool mask') {
    const data = allowRandom.map((x, idx) => (poisoned(0, idx % s) ? 0 : x < 0.7 ? 1 : 0));
    options.attnMask = ctx.tensor(data.map(Boolean), [l, s], 'bool');
    ref.mask = { data, shape: [l, s], bool: true };
  } else if (kind === 'float mask of -Infinity') {
    const data = allowRandom.map((x, idx) =>
      poisoned(0, idx % s) ? Number.NEGATIVE_INFINITY : Math.fround(2 * x - 1),
    );
    options.attnMask = ctx.tensor(data, [l, s]);
    ref.mask = { data, shape: [l, s], bool: false };
  } else if (kind === 'key padding') {
    const data = Array.from({ length: b * s }, (_, idx) =>
      poisoned(Math.floor(idx / s), idx % s) ? 0 : 1,
    );
    options.attnMask = ctx.tensor(data.map(Boolean), [b, 1, 1, s], 'bool');
    ref.mask = { data, shape: [b, 1, 1, s], bool: true };
  } else if (kind === 'causal future') {
    options.isCausal = true;
    ref.isCausal = true;
  } else {
    options.kvLength = s - 2;
    ref.kvLength = s - 2;
  }
  const garbage = (values: number[], dim: number) =>
    values.map((x, idx) => {
      const row = Math.floor(idx / dim);
      return poisoned(Math.floor(row / (h * s)), row % s) ? poison : x;
    });
  const kBad = ctx.tensor(garbage(k.values, E), [b, h, s, E]);
  const vBad = ctx.tensor(garbage(v.values, EV), [b, h, s, EV]);
  const expected = refAttention(
    { data: q.values, shape: [b, h, l, E] },
    { data: k.values, shape: [b, h, s, E] },
    { data: v.values, shape: [b, h, s, EV] },
    ref,
  );
  // Under a causal mask the last query row sees the poisoned key: it is not compared.
  const compared = (row: number) => kind !== 'causal future' || row % l !== l - 1;
  return {
    q: q.t,
    k: kBad,
    v: vBad,
    kFinite: k.t,
    vFinite: v.t,
    options,
    expected,
    compared,
    keys: ref.kvLength ?? s,
  };
}

/** The elements of `values` (rows of `width`) in the rows `keep` accepts. */
function rows(values: readonly number[], width: number, keep: (row: number) => boolean): number[] {
  return values.filter((_, idx) => keep(Math.floor(idx / width)));
}

export const maskedNonFiniteCases: CaseGroup = {};

const KINDS: MaskKind[] = [
  'bool mask',
  'float mask of -Infinity',
  'key padding',
  'causal future',
  'kvLength',
];
const POISONS: [string, number][] = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
];

for (const kind of KINDS) {
  for (const [poisonName, poison] of POISONS) {
    for (const l of [3, 7]) {
      const sc: Poisoned = { kind, dims: [2, 2, l, 9], poison };
      const name = `${poisonName} at keys hidden by ${kind}, L = ${l}`;
      maskedNonFiniteCases[`attention: ${name}`] = async (ctx) => {
        const { q, k, v, options, expected, compared } = build(ctx, sc);
        const out = await ctx.read(attention(q, k, v, options));
        expectClose(rows(out, EV, compared), rows(expected.out, EV, compared), F32, name);
      };
      maskedNonFiniteCases[`attentionWeights: ${name}`] = async (ctx) => {
        const { q, k, options, expected, compared, keys } = build(ctx, sc);
        const weights = await ctx.read(attentionWeights(q, k, options));
        expectClose(
          rows(weights, keys, compared),
          rows(expected.weights, keys, compared),
          F32,
          name,
        );
      };
    }
  }
}

/**
 * The gradient obeys the same rule: with garbage at keys every query row has masked, dQ, dK
 * and dV equal those of finite values there (zero at the masked keys). The causal kind is
 * left out: its poisoned key is visible to the last query row, whose gradient is NaN.
 */
for (const kind of KINDS.filter((k) => k !== 'causal future')) {
  for (const [poisonName, poison] of POISONS) {
    for (const l of [3, 7]) {
      const name = `${poisonName} at keys hidden by ${kind}, L = ${l}`;
      maskedNonFiniteCases[`attention gradients: ${name}`] = async (ctx) => {
        const { q, k, v, kFinite, vFinite, options } = build(ctx, {
          kind,
          dims: [2, 2, l, 9],
          poison,
        });
        const dy = ctx.random([2, 2, l, EV]).t;
        const run = valueAndGrads((qq, kk, vv) => attention(qq!, kk!, vv!, options));
        const gradients = async (kk: Tensor, vv: Tensor) => {
          const { value, grads } = run([q, kk, vv], dy);
          value.dispose();
          return Promise.all(grads.map((g) => ctx.read(g)));
        };
        const clean = await gradients(kFinite, vFinite);
        const poisoned = await gradients(k, v);
        for (const [i, got] of poisoned.entries()) {
          expect(got.some(Number.isNaN), `${name}: gradient ${i} holds NaN`).toBe(false);
          expectClose(got, clean[i]!, F32, `${name}: gradient ${i}`);
        }
      };
    }
  }
}

/**
 * The other side of the rule: NaN in k at a key a row attends makes that row NaN, even when
 * it is the only key the row attends (a max over the row's scores alone would skip it), and
 * leaves the other rows as they were. L = 3 takes WebGPU's split-K decode, L = 7 the fused
 * kernel.
 */
for (const l of [3, 7]) {
  maskedNonFiniteCases[`NaN at the only key a row attends makes that row NaN, L = ${l}`] = async (
    ctx,
  ) => {
    const s = 9;
    const q = ctx.random([1, 1, l, E]);
    const k = ctx.random([1, 1, s, E]);
    const v = ctx.random([1, 1, s, EV]);
    // Row 1 attends key 4 only; the other rows attend every key but 4.
    const allowed = Array.from({ length: l * s }, (_, x) =>
      Math.floor(x / s) === 1 ? x % s === 4 : x % s !== 4,
    );
    const attnMask = ctx.tensor(allowed, [l, s], 'bool');
    const kBad = ctx.tensor(
      k.values.map((x, i) => (Math.floor(i / E) === 4 ? Number.NaN : x)),
      [1, 1, s, E],
    );
    const expected = refAttention(
      { data: q.values, shape: [1, 1, l, E] },
      { data: k.values, shape: [1, 1, s, E] },
      { data: v.values, shape: [1, 1, s, EV] },
      { mask: { data: allowed.map(Number), shape: [l, s], bool: true } },
    );
    const out = await ctx.read(attention(q.t, kBad, v.t, { attnMask }));
    const withLse = attentionWithLse(q.t, kBad, v.t, { attnMask });
    withLse.out.dispose();
    const lse = await ctx.read(withLse.lse);
    for (let i = 0; i < l; i++) {
      const row = (xs: readonly number[]) => xs.slice(i * EV, (i + 1) * EV);
      if (i === 1) {
        expect(row(out).every(Number.isNaN), 'row 1 is NaN').toBe(true);
        expect(Number.isNaN(lse[1]), 'row 1 log-sum-exp is NaN').toBe(true);
      } else {
        expectClose(row(out), row(expected.out), F32, `row ${i}`);
      }
    }
  };
}

/**
 * Scores beyond float32's range: q·k ≈ 1e40 is +Infinity on every backend, so the row is
 * NaN (PyTorch's float32 softmax gives NaN too); q·k ≈ -1e40 is -Infinity, weight 0.
 */
for (const l of [3, 7]) {
  maskedNonFiniteCases[`scores overflowing to +Infinity make the row NaN, L = ${l}`] = async (
    ctx,
  ) => {
    const big = (shape: number[]) =>
      ctx.tensor(
        ctx.random(shape, { low: 1, high: 2 }).values.map((x) => x * 1e20),
        shape,
      );
    const q = big([1, 1, l, E]);
    const k = big([1, 1, 4, E]);
    const v = ctx.random([1, 1, 4, EV]).t;
    const out = await ctx.read(attention(q, k, v));
    expect(out.every(Number.isNaN), `attention: ${out.join(', ')}`).toBe(true);
    const weights = await ctx.read(attentionWeights(q, k));
    expect(weights.every(Number.isNaN), `attentionWeights: ${weights.join(', ')}`).toBe(true);
  };

  maskedNonFiniteCases[`a score overflowing to -Infinity gets weight 0, L = ${l}`] = async (
    ctx,
  ) => {
    const s = 5;
    const q = ctx.random([1, 1, l, E], { low: 0.5, high: 1.5 });
    const k = ctx.random([1, 1, s, E], { low: -1, high: 1 });
    const v = ctx.random([1, 1, s, EV]);
    // q·1e20 against k·1e-20 is the ordinary q·k, except key 2 at -1e20: q·k ≈ -1e40.
    const qBig = ctx.tensor(
      q.values.map((x) => x * 1e20),
      [1, 1, l, E],
    );
    const kData = k.values.map((x, idx) => (Math.floor(idx / E) === 2 ? -1e20 : x * 1e-20));
    const kSmall = ctx.tensor(kData, [1, 1, s, E]);
    const vBad = ctx.tensor(
      v.values.map((x, idx) => (Math.floor(idx / EV) === 2 ? Number.NaN : x)),
      [1, 1, s, EV],
    );
    const expected = refAttention(
      { data: q.values, shape: [1, 1, l, E] },
      {
        data: k.values.map((x, idx) => (Math.floor(idx / E) === 2 ? -1e6 : x)),
        shape: [1, 1, s, E],
      },
      { data: v.values, shape: [1, 1, s, EV] },
      {},
    );
    expectClose(await ctx.read(attention(qBig, kSmall, vBad)), expected.out, F32, 'attention');
    expectClose(
      await ctx.read(attentionWeights(qBig, kSmall)),
      expected.weights,
      F32,
      'attentionWeights',
    );
  };
}
