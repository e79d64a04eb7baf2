import { type CaseGroup, expectClose } from '@qkv/conformance';
import { slidingWindow } from '@qkv/sparse';
import { tensor, transpose } from '@qkv/tensor';
import { expect } from 'vitest';
import { MultiHeadAttention } from '../../src/index.js';
import { load, torchFixtures } from '../fixtures.js';
import { moduleFromFixture } from './torch-fixtures.js';

const F32 = { atol: 1e-5, rtol: 1e-4 };

export const mhaCases: CaseGroup = {};

mhaCases['loadStateDict lists what it expected for wrong names and shapes'] = (ctx) => {
  const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, device: ctx.device, seed: 3 });
  try {
    const ok = mha.stateDict();
    const wrong = {
      in_proj_weight: ok.in_proj_weight!,
      in_proj_bias: ctx.random([23]).t,
      'out_proj.weight': ok['out_proj.weight']!,
      q_proj_weight: ok['out_proj.weight']!,
    };
    expect(() => mha.loadStateDict(wrong)).toThrow(
      'MultiHeadAttention.loadStateDict: in_proj_bias is [23], expected [24]; missing out_proj.bias; unexpected q_proj_weight. Expected exactly: in_proj_weight [24, 8], in_proj_bias [24], out_proj.weight [8, 8], out_proj.bias [8]',
    );
    for (const t of Object.values(ok)) t.dispose();
    const cross = new MultiHeadAttention({
      embedDim: 8,
      numHeads: 2,
      kdim: 3,
      vdim: 5,
      numKvHeads: 1,
      addBiasKv: true,
      device: ctx.device,
    });
    expect([...cross.expectedStateDict()]).toEqual([
      ['q_proj_weight', [8, 8]],
      ['k_proj_weight', [4, 3]],
      ['v_proj_weight', [4, 5]],
      ['in_proj_bias', [16]],
      ['bias_k', [1, 1, 4]],
      ['bias_v', [1, 1, 4]],
      ['out_proj.weight', [8, 8]],
      ['out_proj.bias', [8]],
    ]);
    cross.dispose();
  } finally {
    mha.dispose();
  }
};

mhaCases['stateDict round-trips PyTorch parameters exactly'] = async (ctx) => {
  for (const f of torchFixtures.mha) {
    const state = Object.fromEntries(Object.entries(f.state).map(([k, e]) => [k, load(ctx, e)]));
    const mha = moduleFromFixture(ctx, f, state);
    const back = mha.stateDict();
    mha.dispose();
    expect(Object.keys(back).sort()).toEqual(Object.keys(f.state).sort());
    for (const [name, t] of Object.entries(back)) {
      expect(t.shape, name).toEqual(f.state[name]!.shape);
      // Exact: the fixture's 9 significant digits name float32 values.
      expectClose(
        await ctx.read(t),
        f.state[name]!.data.map(Math.fround),
        { atol: 0, rtol: 0 },
        name,
      );
    }
  }
};

/** A seeded self-attention module and input `[2, 5, 12]`. */
function selfAttention(ctx: Parameters<CaseGroup[string]>[0], extra = {}) {
  const mha = new MultiHeadAttention({
    embedDim: 12,
    numHeads: 3,
    device: ctx.device,
    seed: 7,
    ...extra,
  });
  return { mha, x: ctx.random([2, 5, 12]).t };
}

mhaCases['batchFirst false reads and writes [L, N, E]'] = async (ctx) => {
  const { mha, x } = selfAttention(ctx);
  const seqFirst = new MultiHeadAttention({
    embedDim: 12,
    numHeads: 3,
    batchFirst: false,
    device: ctx.device,
  });
  try {
    const state = mha.stateDict();
    seqFirst.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
    const expected = mha.forward(x, x, x);
    const xt = transpose(x, 0, 1);
    const got = seqFirst.forward(xt, xt, xt);
    xt.dispose();
    expect(got.output.shape).toEqual([5, 2, 12]);
    expect(got.weights!.shape).toEqual([2, 5, 5]);
    const back = transpose(got.output, 0, 1);
    got.output.dispose();
    expectClose(await ctx.read(back), await ctx.read(expected.output), F32);
    expectClose(await ctx.read(got.weights!), await ctx.read(expected.weights!), F32);
  } finally {
    mha.dispose();
    seqFirst.dispose();
  }
};

mhaCases['unbatched input equals a batch of one'] = async (ctx) => {
  const { mha } = selfAttention(ctx);
  try {
    const x = ctx.random([4, 12]).t;
    const mask = ctx.tensor([0, 0, 0, 1], [4], 'bool');
    const single = mha.forward(x, x, x, { keyPaddingMask: mask, averageAttnWeights: false });
    const x1 = x.reshape([1, 4, 12]);
    const m1 = mask.reshape([1, 4]);
    const batched = mha.forward(x1, x1, x1, { keyPaddingMask: m1, averageAttnWeights: false });
    x1.dispose();
    m1.dispose();
    expect(single.output.shape).toEqual([4, 12]);
    expect(single.weights!.shape).toEqual([3, 4, 4]);
    expectClose(await ctx.read(single.output), await ctx.read(batched.output), F32);
    expectClose(await ctx.read(single.weights!), await ctx.read(batched.weights!), F32);
  } finally {
    mha.dispose();
  }
};

mhaCases['needWeights false (fused path) gives the same output'] = async (ctx) => {
  const { mha, x } = selfAttention(ctx);
  try {
    const pad = ctx.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [2, 5], 'bool');
    const materialised = mha.forward(x, x, x, { keyPaddingMask: pad, isCausal: true });
    const fused = mha.forward(x, x, x, { keyPaddingMask: pad, isCausal: true, needWeights: false });
    expect(fused.weights).toBeUndefined();
    materialised.weights!.dispose();
    expectClose(await ctx.read(fused.output), await ctx.read(materialised.output), F32);
  } finally {
    mha.dispose();
  }
};

mhaCases['isCausal equals the explicit causal mask, and ANDs with attnMask'] = async (ctx) => {
  const { mha, x } = selfAttention(ctx);
  try {
    // PyTorch MHA polarity: true = masked out, so the causal mask is the strict upper triangle.
    const upper = Array.from({ length: 25 }, (_, k) => (k % 5 > Math.floor(k / 5) ? 1 : 0));
    const causalMask = ctx.tensor(upper, [5, 5], 'bool');
    const explicit = mha.forward(x, x, x, { attnMask: causalMask, needWeights: false });
    const flag = mha.forward(x, x, x, { isCausal: true, needWeights: false });
    expectClose(await ctx.read(flag.output), await ctx.read(explicit.output), F32);
    const otherValues = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0];
    const other = ctx.tensor(otherValues, [5, 5], 'bool');
    const both = mha.forward(x, x, x, { isCausal: true, attnMask: other, needWeights: true });
    // A key masked out by either is masked out (allowed only if both allow: AND).
    const union = otherValues.map((v, k) => (v || upper[k] ? 1 : 0));
    const unionMask = ctx.tensor(union, [5, 5], 'bool');
    const reference = mha.forward(x, x, x, { attnMask: unionMask });
    expectClose(await ctx.read(both.output), await ctx.read(reference.output), F32);
    expectClose(await ctx.read(both.weights!), await ctx.read(reference.weights!), F32);
  } finally {
    mha.dispose();
  }
};

mhaCases['grouped-query attention equals MHA with repeated key/value heads'] = async (ctx) => {
  const e = 16;
  const gqa = new MultiHeadAttention({
    embedDim: e,
    numHeads: 4,
    numKvHeads: 2,
    device: ctx.device,
    seed: 11,
  });
  const full = new MultiHeadAttention({ embedDim: e, numHeads: 4, device: ctx.device });
  try {
    const state = gqa.stateDict();
    const w = state.in_proj_weight!; // [16 + 2·8, 16]
    const b = state.in_proj_bias!; // [32]
    const wv = await w.data();
    const bv = await b.data();
    // Rows of kv head g (head dim 4) serve query heads 2g and 2g + 1.
    const headRows = (base: number, g: number) =>
      Array.from({ length: 4 }, (_, r) => base + g * 4 + r);
    const expand = (base: number) => [0, 0, 1, 1].flatMap((g) => headRows(base, g));
    const rows = [...Array.from({ length: e }, (_, r) => r), ...expand(e), ...expand(e + 8)];
    const weight = tensor(
      rows.flatMap((r) => Array.from(wv.subarray(r * e, (r + 1) * e))),
      [3 * e, e],
      { device: ctx.device },
    );
    const bias = tensor(
      rows.map((r) => bv[r]!),
      [3 * e],
      { device: ctx.device },
    );
    full.loadStateDict({ ...state, in_proj_weight: weight, in_proj_bias: bias });
    for (const t of [...Object.values(state), weight, bias]) t.dispose();
    const q = ctx.random([2, 3, e]).t;
    const kv = ctx.random([2, 6, e]).t;
    const a = gqa.forward(q, kv, kv, { averageAttnWeights: false });
    const r = full.forward(q, kv, kv, { averageAttnWeights: false });
    expectClose(await ctx.read(a.output), await ctx.read(r.output), F32);
    expectClose(await ctx.read(a.weights!), await ctx.read(r.weights!), F32);
  } finally {
    gqa.dispose();
    full.dispose();
  }
};

mhaCases['dropout is seeded while training and off in eval'] = async (ctx) => {
  const make = () =>
    new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: 0.5, seed: 5, device: ctx.device });
  const a = make();
  const b = make();
  try {
    const x = ctx.random([1, 6, 8]).t;
    const evalOut = await ctx.read(a.forward(x, x, x, { needWeights: false }).output);
    const perHead = { averageAttnWeights: false };
    const evaluated = a.forward(x, x, x, perHead);
    evaluated.output.dispose();
    const evalRows = await ctx.read(evaluated.weights!);
    a.train();
    b.train();
    const ta = a.forward(x, x, x, perHead);
    const tb = b.forward(x, x, x, perHead);
    const wa = await ctx.read(ta.weights!);
    expectClose(wa, await ctx.read(tb.weights!), { atol: 0, rtol: 0 }, 'same seed, same mask');
    expectClose(await ctx.read(ta.output), await ctx.read(tb.output), { atol: 0, rtol: 0 });
    // Inverted dropout: every weight is 0 or twice its eval value, and some of each occur.
    const zeros = wa.filter((v, k) => v === 0 && evalRows[k]! > 0).length;
    expect(zeros).toBeGreaterThan(0);
    wa.forEach((v, k) => {
      if (v !== 0) expect(v).toBeCloseTo(2 * evalRows[k]!, 5);
    });
    a.eval();
    expectClose(await ctx.read(a.forward(x, x, x, { needWeights: false }).output), evalOut, {
      atol: 0,
      rtol: 0,
    });
  } finally {
    a.dispose();
    b.dispose();
  }
};

mhaCases['ALiBi slopes reach every head'] = async (ctx) => {
  const slopes = ctx.tensor([0.5, 0.25, 0.125], [3]);
  const { mha, x } = selfAttention(ctx, { alibi: slopes });
  const plain = new MultiHeadAttention({ embedDim: 12, numHeads: 3, device: ctx.device, seed: 7 });
  try {
    const weightsOf = async (m: MultiHeadAttention) => {
      const { output, weights } = m.forward(x, x, x, { averageAttnWeights: false });
      output.dispose();
      return ctx.read(weights!);
    };
    const a = await weightsOf(mha);
    const p = await weightsOf(plain);
    // Per head and row, log-probability differences between keys shift by -slope·distance.
    for (const [h, slope] of [0.5, 0.25, 0.125].entries()) {
      const i = 2;
      const at = (w: number[], j: number) => w[(h * 5 + i) * 5 + j]!;
      const shift = Math.log(at(a, 0) / at(a, 2)) - Math.log(at(p, 0) / at(p, 2));
      expect(shift).toBeCloseTo(-slope * 2, 4);
    }
  } finally {
    mha.dispose();
    plain.dispose();
  }
};

mhaCases['bad configurations and inputs give clear errors'] = (ctx) => {
  const device = ctx.device;
  expect(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3, device })).toThrow(
    'MultiHeadAttention: embedDim 10 must be divisible by numHeads 3',
  );
  expect(
    () => new MultiHeadAttention({ embedDim: 12, numHeads: 4, numKvHeads: 3, device }),
  ).toThrow('numKvHeads 3 must divide numHeads 4');
  const { mha, x } = selfAttention(ctx);
  try {
    const narrowX = ctx.random([2, 5, 10]).t;
    expect(() => mha.forward(x, narrowX, narrowX)).toThrow(
      /must end in embedDim 12, kdim 12 and vdim 12/,
    );
    expect(() =>
      mha.forward(x, x, x, { attnMask: ctx.tensor([1, 0, 0, 1], [2, 2], 'bool') }),
    ).toThrow(/attnMask \[2, 2\] bool must be \[5, 5\] or \[6, 5, 5\]/);
    expect(() =>
      mha.forward(x, x, x, { keyPaddingMask: ctx.tensor([1, 0], [1, 2], 'bool') }),
    ).toThrow(/keyPaddingMask \[1, 2\] bool must be \[2, 5\]/);
    expect(() => mha.forward(ctx.random([10, 12]).t, x, x)).toThrow(
      /must all be rank 3 \(batched\) or all rank 2/,
    );
  } finally {
    mha.dispose();
  }
};

mhaCases['sparseMask gives the output of the same mask given densely'] = async (ctx) => {
  const mha = new MultiHeadAttention({
    embedDim: 16,
    numHeads: 4,
    numKvHeads: 2,
    device: ctx.device,
    seed: 5,
  });
  try {
    const [l, window] = [37, 9];
    const x = ctx.random([2, l, 16]).t;
    // MHA polarity: true = masked out.
    const blocked = Array.from({ length: l * l }, (_, f) => {
      const [i, j] = [Math.floor(f / l), f % l];
      return !(j <= i && i - j < window);
    });
    const dense = mha.forward(x, x, x, {
      attnMask: ctx.tensor(blocked, [l, l], 'bool'),
      needWeights: false,
    });
    const sparse = mha.forward(x, x, x, { sparseMask: slidingWindow(window), needWeights: false });
    expectClose(await ctx.read(sparse.output), await ctx.read(dense.output), {
      atol: 1e-5,
      rtol: 1e-4,
    });
    expect(() => mha.forward(x, x, x, { sparseMask: slidingWindow(window) })).toThrow(
      /sparseMask cannot be combined with needWeights \(pass needWeights: false/,
    );
  } finally {
    mha.dispose();
  }
};
