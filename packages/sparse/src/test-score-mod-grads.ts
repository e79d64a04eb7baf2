import { readFileSync } from 'node:fs';
import { type CaseContext, type CaseGroup, expectClose } from '@qkv/conformance';
import { alibiSlopes } from '@qkv/positional';
import { type AttentionOptions, attention, type Tensor, valueAndGrads } from '@qkv/tensor';
import { expect } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import { compileJs } from './compile-js.js';
import { type Expr, f32, h, score, where } from './expr.js';
import { maskToTensor } from './mask.js';
import { causal, fullMask, slidingWindow } from './patterns.js';
import { alibi, composeScoreMods, relativeBias, softCap, t5Bias } from './score-mods.js';

// Gradients through score modifiers (the backward multiplies dS by the modifier's symbolic
// derivative), on any device: against PyTorch autograd in float64
// (fixtures/generate-score-mod-grads.py), and against dense `attention`'s gradient with the
// equivalent ALiBi slopes / softcap / float bias where one exists. Block sizes do not divide
// the sequence lengths. The conformance harness checks tensors and buffers are released.

export interface ScoreModFixture {
  name: string;
  mask: 'causal' | 'sliding window 5' | 'full';
  /** [B, H, Hkv, L, S, E] */
  shape: [number, number, number, number, number, number];
  table?: number[];
  maxDistance?: number;
  numBuckets?: number;
  q: number[];
  k: number[];
  v: number[];
  dy: number[];
  out: number[];
  dq: number[];
  dk: number[];
  dv: number[];
}

export const SCORE_MOD_FIXTURES: ScoreModFixture[] = JSON.parse(
  readFileSync(new URL('../fixtures/score-mod-grads.json', import.meta.url), 'utf8'),
).cases;

const MASKS = {
  causal: causal(),
  'sliding window 5': slidingWindow(5),
  full: fullMask(),
};

/** The fixture's modifier built with this package (the generator writes it in torch ops). */
export function fixtureMod(f: ScoreModFixture): Expr {
  const heads = f.shape[1];
  switch (f.name) {
    case 'alibi':
      return alibi(heads);
    case 'softCap':
      return softCap(2);
    case 'relativeBias':
      return relativeBias(Float32Array.from(f.table!), f.maxDistance!, { heads });
    case 't5Bias':
      return t5Bias(Float32Array.from(f.table!), {
        heads,
        numBuckets: f.numBuckets!,
        maxDistance: f.maxDistance!,
      });
    case 'softCap then alibi':
      return composeScoreMods(softCap(2), alibi(heads));
    case 'where and exp':
      return where(score.gt(0), score, score.exp().sub(1)).mul(where(h.eq(0), 1, 0.5));
  }
  throw new Error(`no modifier for fixture ${f.name}`);
}

/**
 * The dense `attention` options equal to the fixture's modifier, where they exist: ALiBi as
 * `alibiSlopes`, soft-capping as `softcap` (applied before additive terms, so softCap then
 * alibi composes), and a position-only bias as a float `bias` tensor (the modifier at
 * score 0, since it adds to the score).
 */
function denseEquivalent(
  ctx: CaseContext,
  f: ScoreModFixture,
  mod: Expr,
): Omit<AttentionOptions, 'attnMask'> | undefined {
  const [, heads, , L, S] = f.shape;
  const slopes = () => ({ alibiSlopes: ctx.tensor(Array.from(alibiSlopes(heads)), [heads]) });
  switch (f.name) {
    case 'alibi':
      return slopes();
    case 'softCap':
      return { softcap: 2 };
    case 'softCap then alibi':
      return { softcap: 2, ...slopes() };
    case 'relativeBias':
    case 't5Bias': {
      const js = compileJs(mod);
      const bias: number[] = [];
      for (let hi = 0; hi < heads; hi++)
        for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) bias.push(js(0, hi, i, j, 0));
      return { bias: ctx.tensor(bias, [heads, L, S]) };
    }
  }
  return undefined;
}

const F32 = { atol: 2e-5, rtol: 2e-4 };

async function checkFixture(ctx: CaseContext, f: ScoreModFixture, blockSize: number) {
  const [B, H, Hkv, L, S, E] = f.shape;
  const onDevice = (values: number[], shape: number[]) => ctx.tensor(values, shape);
  const q = onDevice(f.q, [B, H, L, E]);
  const k = onDevice(f.k, [B, Hkv, S, E]);
  const v = onDevice(f.v, [B, Hkv, S, E]);
  const dy = onDevice(f.dy, [B, H, L, E]);
  const mod = fixtureMod(f);
  const mask = MASKS[f.mask];
  const sparse = valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
    blockSparseAttention(a, b, c, mask, { scoreMod: mod, blockSize, enableGqa: true }),
  )([q, k, v], dy);
  const got = [sparse.value, ...sparse.grads];
  const names = ['out', 'dQ', 'dK', 'dV'];
  const expected = [f.out, f.dq, f.dk, f.dv];
  const values: number[][] = [];
  for (const [i, t] of got.entries()) {
    values.push(await ctx.read(t));
    expectClose(values[i]!, expected[i]!, F32, `${f.name}: ${names[i]} against PyTorch`);
  }
  const dense = denseEquivalent(ctx, f, mod);
  if (!dense) return;
  const cpuMask = maskToTensor(mask, { qLen: L, kvLen: S });
  const attnMask = ctx.tensor(Array.from(cpuMask.dataSync(), Boolean), [L, S], 'bool');
  cpuMask.dispose();
  const reference = valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
    attention(a, b, c, { ...dense, attnMask, enableGqa: true }),
  )([q, k, v], dy);
  for (const [i, t] of [reference.value, ...reference.grads].entries()) {
    expectClose(values[i]!, await ctx.read(t), F32, `${f.name}: ${names[i]} against attention()`);
  }
}

/** One case per fixture, with blocks of 4 (and 5 on the CPU, where it is cheap). */
export const SCORE_MOD_GRADIENT_CASES: CaseGroup = Object.fromEntries(
  SCORE_MOD_FIXTURES.map((f) => [
    `${f.name} (${f.mask}, [${f.shape}])`,
    async (ctx: CaseContext) => {
      await checkFixture(ctx, f, 4);
      if (ctx.backend === 'cpu') await checkFixture(ctx, f, 5);
    },
  ]),
);

/** The undifferentiable-modifier error, at the forward call whose gradient is taken. */
export const SCORE_MOD_GRADIENT_ERRORS: CaseGroup = {
  'a score-dependent floorDiv is refused at the call, naming the term': (ctx) => {
    const q = ctx.random([1, 2, 6, 4]).t;
    const mod = score.floorDiv(f32(2));
    const forward = blockSparseAttention(q, q, q, causal(), { scoreMod: mod, blockSize: 4 });
    forward.dispose();
    const f = (a: Tensor) =>
      blockSparseAttention(a, q, q, causal(), { scoreMod: mod, blockSize: 4 });
    expect(() => valueAndGrads(f)([q])).toThrow(
      /^blockSparseAttention: the gradient through the score modifier needs its derivative: derivative: \(score \/\/ 2\) rounds a score-dependent value down/,
    );
  },
};
