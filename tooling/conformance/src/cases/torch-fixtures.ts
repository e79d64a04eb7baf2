import { readFileSync } from 'node:fs';
import {
  gelu,
  geluTanh,
  layerNorm,
  linear,
  logSoftmax,
  logsumexp,
  matmul,
  rmsNorm,
  sigmoid,
  silu,
  softmax,
  type Tensor,
} from '@qkv/tensor';
import { expect } from 'vitest';
import { expectClose } from '../compare.js';
import type { CaseGroup } from '../harness.js';

interface FixtureCase {
  name: string;
  op: string;
  attrs: { axis?: number; eps?: number };
  inputs: { shape: number[]; data: number[] }[];
  output: { shape: number[]; data: number[] };
}

const fixtures = JSON.parse(
  readFileSync(new URL('../../fixtures/torch-ops.json', import.meta.url), 'utf8'),
) as { torch: string; cases: FixtureCase[] };

/** How each fixture op maps onto the qkv API. */
const RUN: Record<string, (inputs: Tensor[], attrs: FixtureCase['attrs']) => Tensor> = {
  gelu: ([x]) => gelu(x!),
  geluTanh: ([x]) => geluTanh(x!),
  silu: ([x]) => silu(x!),
  sigmoid: ([x]) => sigmoid(x!),
  softmax: ([x], { axis }) => softmax(x!, axis),
  logSoftmax: ([x], { axis }) => logSoftmax(x!, axis),
  logsumexp: ([x], { axis }) => logsumexp(x!, axis),
  matmul: ([a, b]) => matmul(a!, b!),
  layerNorm: ([x, weight, bias], { eps }) =>
    layerNorm(x!, { weight: weight!, bias: bias!, eps: eps! }),
  rmsNorm: ([x, weight], { eps }) => rmsNorm(x!, { weight: weight!, eps: eps! }),
  linear: ([x, weight, bias]) => linear(x!, weight!, bias!),
};

export const torchFixtureCases: CaseGroup = {};

for (const fixture of fixtures.cases) {
  torchFixtureCases[`${fixture.name} matches PyTorch ${fixtures.torch}`] = async (ctx) => {
    const run = RUN[fixture.op];
    expect(run, `no runner for fixture op ${fixture.op}`).toBeDefined();
    const inputs = fixture.inputs.map((i) => ctx.tensor(i.data, i.shape));
    const out = run!(inputs, fixture.attrs);
    expect(out.shape).toEqual(fixture.output.shape);
    expectClose(await ctx.read(out), fixture.output.data, { atol: 1e-5, rtol: 1e-5 }, fixture.name);
  };
}
