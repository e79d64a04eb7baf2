import { readFileSync } from 'node:fs';
import {
  attention,
  attentionWeights,
  type BinaryOpName,
  binary,
  type CausalAlignment,
  concat,
  type DType,
  gather,
  layerNorm,
  linear,
  logSoftmax,
  matmul,
  permute,
  type ReduceOpName,
  reduce,
  rmsNorm,
  rope,
  slice,
  softmax,
  type Tensor,
  type UnaryOpName,
  unary,
  valueAndGrads,
  where,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseGroup } from '../harness.js';

interface Encoded {
  shape: number[];
  data: number[];
  dtype?: DType;
  name?: string;
}

interface GradFixture {
  name: string;
  op: string;
  attrs: { axis?: number; causal?: CausalAlignment; scale?: number; softcap?: number };
  inputs: Encoded[];
  constants: Encoded[];
  dy: Encoded;
  output: Encoded;
  grads: Encoded[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../../fixtures/torch-grads.json', import.meta.url), 'utf8'),
) as { torch: string; cases: GradFixture[] };

type Run = (xs: Tensor[], c: Record<string, Tensor>, attrs: GradFixture['attrs']) => Tensor;

const attentionOptions = (c: Record<string, Tensor>, attrs: GradFixture['attrs']) => ({
  enableGqa: true,
  ...(attrs.causal ? { isCausal: true, causalAlignment: attrs.causal } : {}),
  ...(attrs.scale ? { scale: attrs.scale } : {}),
  ...(attrs.softcap ? { softcap: attrs.softcap } : {}),
  ...(c.attnMask ? { attnMask: c.attnMask } : {}),
  ...(c.alibiSlopes ? { alibiSlopes: c.alibiSlopes } : {}),
});

/** How each fixture op maps onto the qkv API. */
const RUN: Record<string, Run> = {
  where: ([a, b], c) => where(c.condition!, a!, b!),
  matmul: ([a, b]) => matmul(a!, b!),
  matmulTA: ([a, b]) => matmul(a!, b!, { transposeA: true }),
  matmulTB: ([a, b]) => matmul(a!, b!, { transposeB: true }),
  linear: ([x, w, b]) => linear(x!, w!, b!),
  permute: ([x]) => permute(x!, [2, 0, 1]),
  concat: ([a, b]) => concat([a!, b!], 1),
  slice: ([x]) =>
    slice(x!, [
      [1, 6, 2],
      [3, 11],
    ]),
  gather: ([x], c) => gather(x!, c.indices!, 1),
  layerNorm: ([x, w, b]) => layerNorm(x!, { weight: w!, bias: b!, eps: 1e-5 }),
  rmsNorm: ([x, w]) => rmsNorm(x!, { weight: w!, eps: 1e-6 }),
  rope: ([x], c) => rope(x!, c.positions!, c.invFreq!),
  softmax: ([x], _, { axis }) => softmax(x!, axis),
  logSoftmax: ([x], _, { axis }) => logSoftmax(x!, axis),
  attention: ([q, k, v], c, attrs) => attention(q!, k!, v!, attentionOptions(c, attrs)),
  attentionWeights: ([q, k], c, attrs) => attentionWeights(q!, k!, attentionOptions(c, attrs)),
  'attention+mask': ([q, k, v, m], c, attrs) =>
    attention(q!, k!, v!, { ...attentionOptions(c, attrs), attnMask: m! }),
  'attentionWeights+mask': ([q, k, m], c, attrs) =>
    attentionWeights(q!, k!, { ...attentionOptions(c, attrs), attnMask: m! }),
};

function runnerFor(op: string): Run | undefined {
  if (RUN[op]) return RUN[op];
  if (['sum', 'mean', 'max', 'min', 'logsumexp'].includes(op)) {
    return ([x], _, { axis }) => reduce(op as ReduceOpName, x!, axis);
  }
  if (
    op === 'add' ||
    op === 'sub' ||
    op === 'mul' ||
    op === 'div' ||
    op === 'pow' ||
    op === 'maximum' ||
    op === 'minimum'
  ) {
    return ([a, b]) => binary(op as BinaryOpName, a!, b!);
  }
  return ([x]) => unary(op as UnaryOpName, x!);
}

/** Gradient tolerance: float32 kernels against float64 autograd, sums of tens of terms. */
const TOL = { atol: 1e-4, rtol: 1e-4 };

export const gradientCases: CaseGroup = {};

for (const fixture of fixtures.cases) {
  gradientCases[`${fixture.name}: gradients match PyTorch ${fixtures.torch} autograd`] = async (
    ctx,
  ) => {
    const run = runnerFor(fixture.op);
    const xs = fixture.inputs.map((i) => ctx.tensor(i.data, i.shape));
    const constants = Object.fromEntries(
      fixture.constants.map((c) => [
        c.name!,
        ctx.tensor(c.dtype === 'bool' ? c.data.map((v) => v !== 0) : c.data, c.shape, c.dtype),
      ]),
    );
    const dy = ctx.tensor(fixture.dy.data, fixture.dy.shape);
    const { value, grads } = valueAndGrads((...args) => run!(args, constants, fixture.attrs))(
      xs,
      dy,
    );
    expectClose(await ctx.read(value), fixture.output.data, TOL, `${fixture.name} value`);
    for (const [i, g] of grads.entries()) {
      expect(g.shape).toEqual(fixture.grads[i]!.shape);
      expectClose(await ctx.read(g), fixture.grads[i]!.data, TOL, `${fixture.name} grad ${i}`);
    }
  };
}
