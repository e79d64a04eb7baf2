import {
  type AttentionAttrs,
  AttentionOp,
  attention,
  attentionWithLse,
  getKernel,
  type KernelContext,
  registerKernel,
  roundToFloat16,
  runOp,
  unregisterKernel,
  valueAndGrads,
} from '@qkv/tensor';
import fc from 'fast-check';
import { expect } from 'vitest';
import { expectClose, type Tolerance } from '../compare.js';
import type { CaseGroup } from '../harness.js';
import {
  expectedShapes,
  F32,
  prepare,
  type RefOptions,
  refAttention,
  SCENARIOS,
} from './attention.js';
import { refAttentionGrads } from './attention-gradients.js';

// The row log-sum-exp the `attention` forward saves for its gradient (FlashAttention-2): it
// must equal the float64 log-sum-exp of each row's final scores on every kernel path (the
// fused tile loop, split-K decoding for short query lengths), and the gradient must read it
// instead of running `attentionLse` again. Outputs are poisoned, so an unwritten row fails.

/** The log-sum-exp is near the scores' size (a few units): float32 error is ~1e-6 of it. */
const LSE: Tolerance = { atol: 1e-5, rtol: 1e-5 };
/** Gradients: float32 kernels against float64 sums of up to a few hundred terms. */
const GRAD: Tolerance = { atol: 1e-4, rtol: 1e-4 };

/**
 * Run `fn` with `op`'s kernels on `backends` (the backend's own, and the reference kernel a
 * fallback reaches) wrapped to count their runs; the originals are restored afterwards.
 */
export function countKernelRuns<T>(
  op: string,
  backends: readonly string[],
  fn: (calls: KernelContext<AttentionAttrs, unknown>[]) => T,
): { runs: number; result: T } {
  const calls: KernelContext<AttentionAttrs, unknown>[] = [];
  const originals = [...new Set(backends)].flatMap((b) => getKernel(op, b) ?? []);
  for (const original of originals) {
    unregisterKernel(op, original.backend);
    registerKernel<AttentionAttrs, unknown>({
      op,
      backend: original.backend,
      run: (ctx) => {
        calls.push(ctx);
        return original.run(ctx as never);
      },
    });
  }
  try {
    const result = fn(calls);
    return { runs: calls.length, result };
  } finally {
    for (const original of originals) {
      unregisterKernel(op, original.backend);
      registerKernel(original);
    }
  }
}

/** Float64 gradients of a prepared scenario ({@link refAttentionGrads}). */
function refGradsOf(p: ReturnType<typeof prepare>, dOut: readonly number[]) {
  return refAttentionGrads(p.host.q, p.host.k, p.host.v, dOut, p.ref);
}

export const attentionLseCases: CaseGroup = {};

for (const [name, sc] of Object.entries(SCENARIOS)) {
  attentionLseCases[`attentionWithLse: ${name}`] = async (ctx) => {
    const { q, k, v, options, expected } = prepare(ctx, sc);
    const { out, lse } = attentionWithLse(q, k, v, options);
    expect(out.shape).toEqual(expectedShapes(sc).out);
    expect(lse.shape).toEqual(sc.q.slice(0, -1));
    expect(lse.dtype).toBe('float32');
    expectClose(await ctx.read(out), expected.out, F32, name);
    expectClose(await ctx.read(lse), expected.lse, LSE, `${name}: log-sum-exp`);
  };

  attentionLseCases[`gradients read the saved log-sum-exp: ${name}`] = async (ctx) => {
    const prepared = prepare(ctx, sc);
    const { q, k, v, options, expected } = prepared;
    const dOut = ctx.random(expectedShapes(sc).out);
    const { runs, result } = countKernelRuns('attentionLse', [ctx.backend, 'cpu'], () =>
      valueAndGrads((a, b, c) => attention(a!, b!, c!, options))([q, k, v], dOut.t),
    );
    expect(runs, 'attentionLse runs during valueAndGrads').toBe(0);
    const want = refGradsOf(prepared, dOut.values);
    expectClose(await ctx.read(result.value), expected.out, F32, `${name}: value`);
    const [dq, dk, dv] = await Promise.all(result.grads.map((g) => ctx.read(g)));
    for (const [label, got, ref] of [
      ['dq', dq!, want.dq],
      ['dk', dk!, want.dk],
      ['dv', dv!, want.dv],
    ] as const) {
      expect(got.some(Number.isNaN), `${name}: ${label} has NaN`).toBe(false);
      expectClose(got, ref, GRAD, `${name}: ${label}`);
    }
    // A fully masked row (log-sum-exp -inf) gets exactly zero gradient.
    const e = sc.q.at(-1)!;
    expected.lse.forEach((x, row) => {
      if (x === Number.NEGATIVE_INFINITY) {
        expect(dq!.slice(row * e, (row + 1) * e), `${name}: dq of masked row ${row}`).toEqual(
          new Array(e).fill(0),
        );
      }
    });
  };
}

attentionLseCases['property: random shapes, masks and alignments match float64'] = async (ctx) => {
  // L up to 70 crosses the fused kernel's 64-row tile; L <= 4 takes WebGPU's decode kernel.
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        kvHeads: fc.integer({ min: 1, max: 2 }),
        group: fc.integer({ min: 1, max: 3 }),
        l: fc.integer({ min: 1, max: 70 }),
        s: fc.integer({ min: 1, max: 80 }),
        e: fc.integer({ min: 1, max: 20 }),
        ev: fc.integer({ min: 1, max: 10 }),
        causal: fc.constantFrom(undefined, 'top-left', 'bottom-right'),
        softcap: fc.boolean(),
        alibi: fc.boolean(),
        seed: fc.integer(),
      }),
      async (c) => {
        const heads = c.kvHeads * c.group;
        const shapes = {
          q: [heads, c.l, c.e],
          k: [c.kvHeads, c.s, c.e],
          v: [c.kvHeads, c.s, c.ev],
        };
        const [q, k, v] = [shapes.q, shapes.k, shapes.v].map((shape, i) =>
          ctx.random(shape, { seed: c.seed + i, low: -2, high: 2 }),
        );
        const slopes = Array.from({ length: heads }, (_, h) => 2 ** -(h + 1));
        const ref: RefOptions = {
          isCausal: c.causal !== undefined,
          alignment: c.causal,
          ...(c.softcap ? { softcap: 1.5 } : {}),
          ...(c.alibi ? { slopes } : {}),
        };
        const expected = refAttention(
          { data: q!.values, shape: shapes.q },
          { data: k!.values, shape: shapes.k },
          { data: v!.values, shape: shapes.v },
          ref,
        );
        const { out, lse } = attentionWithLse(q!.t, k!.t, v!.t, {
          enableGqa: true,
          isCausal: ref.isCausal,
          ...(c.causal ? { causalAlignment: c.causal } : {}),
          ...(c.softcap ? { softcap: 1.5 } : {}),
          ...(c.alibi ? { alibiSlopes: ctx.tensor(slopes, [heads]) } : {}),
        });
        expectClose(await ctx.read(out), expected.out, F32, 'output');
        expectClose(await ctx.read(lse), expected.lse, LSE, 'log-sum-exp');
      },
    ),
    { numRuns: ctx.propertyRuns },
  );
};

attentionLseCases['float16 inputs: float16 output, float32 log-sum-exp'] = async (ctx) => {
  const shapes = { q: [1, 2, 5, 8], k: [1, 2, 6, 8] };
  const [q, k, v] = [shapes.q, shapes.k, shapes.k].map((s) => ctx.random(s, { dtype: 'float16' }));
  const ref = refAttention(
    { data: q!.values, shape: shapes.q },
    { data: k!.values, shape: shapes.k },
    { data: v!.values, shape: shapes.k },
    { isCausal: true },
  );
  const { out, lse } = attentionWithLse(q!.t, k!.t, v!.t, { isCausal: true });
  expect([out.dtype, lse.dtype]).toEqual(['float16', 'float32']);
  expectClose(await ctx.read(out), ref.out.map(roundToFloat16), ctx.tol('float16'));
  // The scores of float16 inputs are computed in float32: the log-sum-exp keeps that precision.
  expectClose(await ctx.read(lse), ref.lse, LSE);
};

attentionLseCases['the forward writes the log-sum-exp only under a gradient tape'] = async (
  ctx,
) => {
  const { q, k, v, options } = prepare(ctx, SCENARIOS['causal top-left, L > S']!);
  const { runs, result } = countKernelRuns('attention', [ctx.backend, 'cpu'], (calls) => {
    const recorded = valueAndGrads((a) => attention(a!, k, v, options))([q]);
    const plain = attention(q, k, v, options);
    return { recorded, plain, outputs: calls.map((c) => c.outputs.length) };
  });
  expect(runs).toBe(2);
  // Recorded: out and lse; outside the tape: out alone.
  expect(result.outputs).toEqual([2, 1]);
  expectClose(await ctx.read(result.recorded.value), await ctx.read(result.plain), F32);
  for (const g of result.recorded.grads) g.dispose();
};

attentionLseCases['a forward run without the saved log-sum-exp still differentiates'] = async (
  ctx,
) => {
  // runOp without saveLse (as code calling the op directly does): the gradient falls back on
  // attentionLse, and agrees with the saved path.
  const sc = SCENARIOS['batched heads, L != S, E != Ev']!;
  const prepared = prepare(ctx, sc);
  const { q, k, v } = prepared;
  const dOut = ctx.random(expectedShapes(sc).out);
  const attrs: AttentionAttrs = {
    scale: 1 / Math.sqrt(sc.q.at(-1)!),
    isCausal: false,
    causalAlignment: 'top-left',
    softcap: 0,
    kvLength: sc.k.at(-2)!,
    hasMask: false,
    hasBias: false,
    hasAlibi: false,
  };
  const { runs, result } = countKernelRuns('attentionLse', [ctx.backend, 'cpu'], () =>
    valueAndGrads((a, b, c) => runOp(AttentionOp, [a!, b!, c!], attrs)[0]!)([q, k, v], dOut.t),
  );
  expect(runs, 'attentionLse runs without a saved log-sum-exp').toBe(1);
  const want = refGradsOf(prepared, dOut.values);
  result.value.dispose();
  const [dq, dk, dv] = await Promise.all(result.grads.map((g) => ctx.read(g)));
  expectClose(dq!, want.dq, GRAD, 'dq');
  expectClose(dk!, want.dk, GRAD, 'dk');
  expectClose(dv!, want.dv, GRAD, 'dv');
};
