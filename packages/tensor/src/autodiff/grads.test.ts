import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpu } from '../cpu/cpu-device.js';
import { tensor } from '../creation.js';
import { liveTensors } from '../lifetime.js';
import { attention, attentionWeights } from '../ops/attention.js';
import { BlockSparseAttentionOp, type BlockTables } from '../ops/block-sparse-attention.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import * as ew from '../ops/elementwise.js';
import { cast, concat, gather, permute, slice } from '../ops/layout.js';
import { linear, matmul } from '../ops/matmul.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import { logSoftmax, logsumexp, max, mean, min, softmax, sum } from '../ops/reduce.js';
import { rope } from '../ops/rope.js';
import { Random } from '../random.js';
import { runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { type CheckInput, finiteDifferenceCheck } from './grad-check.js';
import { grads, missingGradients, valueAndGrads } from './tape.js';

cpu();

type Values = (n: number, rng: Random) => number[];
const uniform: Values = (n, rng) => Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
const positive: Values = (n, rng) => Array.from({ length: n }, () => 0.5 + rng.nextFloat() * 1.5);
/** Away from 0, where abs / relu have their kink (and the `where` case its jump). */
const awayFromZero: Values = (n, rng) =>
  Array.from({ length: n }, () => (rng.nextFloat() < 0.5 ? -1 : 1) * (0.2 + rng.nextFloat()));
/** Distinct values spaced by more than the finite-difference step (max, min, maximum). */
const distinct: Values = (n, rng) => {
  const order = Array.from({ length: n }, (_, i) => i).sort(() => rng.nextFloat() - 0.5);
  return order.map((i) => (i - n / 2) * 0.1);
};

interface GradCase {
  inputs: { shape: number[]; values?: Values }[];
  f: (...args: Tensor[]) => Tensor;
}

const m = 3;
const n = 5;
const unary = (f: (x: Tensor) => Tensor, values: Values = uniform): GradCase => ({
  inputs: [{ shape: [m, n], values }],
  f,
});
const binary = (f: (a: Tensor, b: Tensor) => Tensor, values: Values = uniform): GradCase => ({
  // b broadcasts over rows: its gradient sums them.
  inputs: [
    { shape: [m, n], values },
    { shape: [n], values },
  ],
  f,
});

const positions = tensor([0, 3, 1, 7], [4], { dtype: 'int32' });
const invFreq = tensor([1, 0.3, 0.05], [3]);
const boolMask = tensor(
  [true, false, true, true, false, true, false, false, true, true, true, false],
  [3, 4],
  { dtype: 'bool' },
);
// Row 1 masked entirely: its gradient must be zero, not NaN.
const fullyMasked = tensor(
  [true, true, false, true, false, false, false, false, true, false, true, true],
  [3, 4],
  { dtype: 'bool' },
);
const floatMask = tensor(
  Array.from({ length: 12 }, (_, i) => Math.sin(i)),
  [3, 4],
);
const slopes = tensor([0.5, 0.25], [2]);
const qkv = (hq: number, hkv: number, l: number, s: number, e: number) => [
  { shape: [1, hq, l, e] },
  { shape: [1, hkv, s, e] },
  { shape: [1, hkv, s, e] },
];

const ceTargets = tensor([1, -100, 3], [3], { dtype: 'int32' });
const ceTargets2 = tensor([2, 0, 1, 2], [2, 2], { dtype: 'int32' });

// Causal over 5 positions in blocks of 2: diagonal blocks partial, those below full.
const causalBlocks: BlockTables = {
  qLen: 5,
  kvLen: 5,
  blockQ: 2,
  blockKv: 2,
  numQBlocks: 3,
  batch: 1,
  heads: 1,
  fullOffsets: Int32Array.from([0, 0, 1, 3]),
  fullIndices: Int32Array.from([0, 0, 1]),
  partialOffsets: Int32Array.from([0, 1, 2, 3]),
  partialIndices: Int32Array.from([0, 1, 2]),
};

const CASES: Record<string, GradCase> = {
  neg: unary(ew.neg),
  abs: unary(ew.abs, awayFromZero),
  exp: unary(ew.exp),
  log: unary(ew.log, positive),
  sqrt: unary(ew.sqrt, positive),
  rsqrt: unary(ew.rsqrt, positive),
  sin: unary(ew.sin),
  cos: unary(ew.cos),
  tanh: unary(ew.tanh),
  sigmoid: unary(ew.sigmoid),
  relu: unary(ew.relu, awayFromZero),
  gelu: unary((x) => ew.gelu(ew.mul(x, 3))),
  geluTanh: unary((x) => ew.geluTanh(ew.mul(x, 3))),
  silu: unary((x) => ew.silu(ew.mul(x, 3))),
  add: binary(ew.add),
  sub: binary(ew.sub),
  mul: binary(ew.mul),
  div: binary(ew.div, positive),
  pow: binary(ew.pow, positive),
  maximum: binary(ew.maximum, distinct),
  minimum: binary(ew.minimum, distinct),
  'scalar operands': unary((x) => ew.sub(ew.div(ew.mul(x, 2), 3), 1)),
  'a tensor used twice': unary((x) => ew.mul(x, ew.add(x, 1))),
  // Inputs stay off the branch point, where the finite difference would straddle the jump.
  where: unary((x) => ew.where(ew.greater(x, 0), ew.mul(x, 2), ew.exp(x)), awayFromZero),
  sum: unary((x) => sum(x, 0)),
  'sum (all, keepDim)': unary((x) => sum(x, undefined, true)),
  mean: unary((x) => mean(x, 1, true)),
  max: unary((x) => max(x, 1), distinct),
  min: unary((x) => min(x, 0), distinct),
  logsumexp: unary((x) => logsumexp(x, -1)),
  softmax: unary((x) => softmax(x, 0)),
  logSoftmax: unary((x) => logSoftmax(x, -1)),
  matmul: {
    inputs: [{ shape: [2, m, 4] }, { shape: [4, n] }],
    f: (a, b) => matmul(a, b),
  },
  'matmul (transposed, vector)': {
    inputs: [{ shape: [4, m] }, { shape: [n, 4] }, { shape: [n] }],
    f: (a, b, v) => matmul(matmul(a, b, { transposeA: true, transposeB: true }), v),
  },
  linear: {
    inputs: [{ shape: [2, m, 4] }, { shape: [n, 4] }, { shape: [n] }],
    f: (x, w, b) => linear(x, w, b),
  },
  permute: { inputs: [{ shape: [2, m, n] }], f: (x) => permute(x, [2, 0, 1]) },
  concat: { inputs: [{ shape: [m, 2] }, { shape: [m, n] }], f: (a, b) => concat([a, b], 1) },
  slice: unary((x) =>
    slice(x, [
      [1, 3],
      [0, 5, 2],
    ]),
  ),
  'reshape and cast': unary((x) => cast(x.reshape([n, m]), 'float32')),
  gather: {
    inputs: [{ shape: [m, n] }],
    f: (x) => gather(x, tensor([4, -1, 0, 2, 4], [5], { dtype: 'int32' }), 1),
  },
  layerNorm: {
    inputs: [{ shape: [m, 2, n] }, { shape: [2, n] }, { shape: [2, n] }],
    f: (x, w, b) => layerNorm(x, { weight: w, bias: b, normalizedDims: 2 }),
  },
  rmsNorm: {
    inputs: [{ shape: [m, n] }, { shape: [n] }],
    f: (x, w) => rmsNorm(x, { weight: w, eps: 1e-5 }),
  },
  rope: { inputs: [{ shape: [2, 4, 6] }], f: (x) => rope(x, positions, invFreq) },
  attention: { inputs: qkv(2, 2, 3, 4, 3), f: (q, k, v) => attention(q, k, v) },
  'attention (GQA, causal bottom-right, ALiBi, bool mask)': {
    inputs: qkv(2, 1, 3, 4, 3),
    f: (q, k, v) =>
      attention(q, k, v, {
        enableGqa: true,
        isCausal: true,
        causalAlignment: 'bottom-right',
        alibiSlopes: slopes,
        attnMask: boolMask,
      }),
  },
  'attention (float mask, softcap, scale, top-left causal, kvLength)': {
    inputs: qkv(2, 2, 3, 5, 3),
    f: (q, k, v) =>
      attention(q, k, v, {
        attnMask: floatMask,
        softcap: 2,
        scale: 0.7,
        isCausal: true,
        kvLength: 4,
      }),
  },
  'attention (a fully masked row)': {
    inputs: qkv(1, 1, 3, 4, 2),
    f: (q, k, v) => attention(q, k, v, { attnMask: fullyMasked }),
  },
  'blockSparseAttention (causal, blocks of 2 over 5 positions, GQA)': {
    inputs: qkv(2, 1, 5, 5, 3),
    f: (q, k, v) =>
      runOp(BlockSparseAttentionOp, [q, k, v], {
        blocks: causalBlocks,
        mods: { mask: (_b, _h, i, j) => j <= i },
        scale: 0.6,
      })[0]!,
  },
  'crossEntropy (mean over the targets not ignored)': {
    inputs: [{ shape: [3, 4] }],
    f: (x) => crossEntropy(x, ceTargets),
  },
  'crossEntropy (sum, rank 3)': {
    inputs: [{ shape: [2, 2, 3] }],
    f: (x) => crossEntropy(x, ceTargets2, { reduction: 'sum' }),
  },
  'crossEntropy (none)': {
    inputs: [{ shape: [3, 4] }],
    f: (x) => crossEntropy(x, ceTargets, { reduction: 'none' }),
  },
  'attention (float mask and bias differentiated, GQA, softcap, causal, kvLength)': {
    // The mask broadcasts over heads, the bias over query rows: both gradients are sums.
    inputs: [...qkv(2, 1, 3, 5, 3), { shape: [1, 1, 3, 4] }, { shape: [1, 2, 1, 4] }],
    f: (q, k, v, mask, bias) =>
      attention(q, k, v, {
        attnMask: mask,
        bias,
        enableGqa: true,
        softcap: 2,
        isCausal: true,
        causalAlignment: 'bottom-right',
        kvLength: 4,
      }),
  },
  'attention (bias differentiated, rank 2, bool mask with a fully masked row)': {
    inputs: [
      ...qkv(1, 1, 3, 4, 2).map(({ shape }) => ({ shape: shape.slice(2) })),
      { shape: [3, 4] },
    ],
    f: (q, k, v, bias) => attention(q, k, v, { attnMask: fullyMasked, bias }),
  },
  'attentionWeights (bias differentiated)': {
    inputs: [...qkv(2, 2, 3, 4, 3).slice(0, 2), { shape: [2, 3, 4] }],
    f: (q, k, bias) => attentionWeights(q, k, { bias }),
  },
  attentionWeights: {
    inputs: qkv(2, 1, 3, 5, 3).slice(0, 2),
    f: (q, k) => attentionWeights(q, k, { enableGqa: true, isCausal: true, kvLength: 4 }),
  },
};

describe('grads', () => {
  it('every op declares a gradient or that it has none', () => {
    expect(missingGradients()).toEqual([]);
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: matches finite differences`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
          const rng = new Random(seed);
          const inputs: CheckInput[] = c.inputs.map(({ shape, values = uniform }) => ({
            shape,
            values: values(
              shape.reduce((p, d) => p * d, 1),
              rng,
            ),
          }));
          const before = liveTensors();
          const { analytic, numeric } = finiteDifferenceCheck(c.f, inputs, { seed, eps: 1e-2 });
          expect(liveTensors()).toBe(before);
          analytic.forEach((g, a) => {
            g.forEach((v, e) => {
              const want = numeric[a]![e]!;
              expect(Number.isNaN(v), `${name} input ${a}[${e}] is NaN`).toBe(false);
              expect(
                Math.abs(v - want),
                `${name} input ${a}[${e}]: ${v} vs ${want}`,
              ).toBeLessThanOrEqual(5e-3 + 2e-2 * Math.abs(want));
            });
          });
        }),
        { numRuns: 3 },
      );
    });
  }

  it('valueAndGrads returns the value and frees every intermediate', () => {
    const x = tensor([1, 2, 3]);
    const before = liveTensors();
    const buffers = x.device.liveBuffers();
    const { value, grads: g } = valueAndGrads((t) => sum(ew.mul(ew.exp(t), t)))([x]);
    expect(value.dataSync()[0]).toBeCloseTo(Math.E + 2 * Math.E ** 2 + 3 * Math.E ** 3, 3);
    // d/dx x·eˣ = (1 + x)·eˣ
    expect(Array.from(g[0]!.dataSync())).toEqual(
      [1, 2, 3].map((v) => Math.fround((1 + v) * Math.exp(v))),
    );
    expect(liveTensors()).toBe(before + 2);
    value.dispose();
    g[0]!.dispose();
    expect(liveTensors()).toBe(before);
    expect(x.device.liveBuffers()).toBe(buffers);
    x.dispose();
  });

  it('takes dy as the upstream gradient and gives unused arguments zeros', () => {
    const x = tensor([1, 2]);
    const unused = tensor([5, 6, 7]);
    const dy = tensor([10, -1]);
    const [gx, gu] = grads((a) => ew.mul(a, a))([x, unused], dy);
    expect(Array.from(gx!.dataSync())).toEqual([20, -4]);
    expect(Array.from(gu!.dataSync())).toEqual([0, 0, 0]);
    for (const t of [x, unused, dy, gx!, gu!]) t.dispose();
  });

  it('refuses, naming the op and input, a float input it cannot differentiate', () => {
    const freq = tensor([0.5], [1]);
    const slopesArg = tensor([0.5, 0.25], [2]);
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 4, 2]);
    const q = tensor(
      Array.from({ length: 12 }, (_, i) => Math.cos(i)),
      [1, 2, 3, 2],
    );
    const before = liveTensors();
    // Frequencies computed from the argument: RoPE has no gradient for them.
    expect(() => grads((f) => rope(x, positions, ew.mul(f, 0.5)))([freq])).toThrow(
      /op "rope" gives no gradient for its input "invFreq" \(\[1\] float32\)/,
    );
    expect(() => grads((s) => attention(q, q, q, { alibiSlopes: s }))([slopesArg])).toThrow(
      /attention gives no gradient for alibiSlopes/,
    );
    expect(liveTensors()).toBe(before);
    for (const t of [freq, slopesArg, x, q]) t.dispose();
  });

  it('names the problem when dy or f is wrong', () => {
    const x = tensor([1, 2]);
    const dy = tensor([1, 2, 3]);
    expect(() => grads((a) => ew.exp(a))([x], dy)).toThrow(
      /dy \[3\] must have the shape of f's value \[2\]/,
    );
    const ints = tensor([1, 2], [2], { dtype: 'int32' });
    expect(() => grads((a) => a)([ints])).toThrow(/args\[0\] must be float/);
    const before = liveTensors();
    expect(() =>
      grads((a) => {
        ew.exp(a);
        throw new Error('boom');
      })([x]),
    ).toThrow('boom');
    expect(liveTensors()).toBe(before);
    for (const t of [x, dy, ints]) t.dispose();
  });
});
