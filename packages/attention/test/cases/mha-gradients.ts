import type { CaseGroup } from '@qkv/conformance';
import { mul, scope, sub, sum, type Tensor, valueAndGrads } from '@qkv/tensor';
import { expect } from 'vitest';
import { MultiHeadAttention } from '../../src/index.js';

export const mhaGradientCases: CaseGroup = {
  'parameters() are live: their gradients drive an update the forward sees': async (ctx) => {
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 3, device: ctx.device });
    const x = ctx.random([2, 5, 8]).t;
    const params = mha.parameters();
    const names = [...params.keys()];
    const loss = () =>
      scope(() => {
        const { output } = mha.forward(x, x, x, { needWeights: false });
        return sum(mul(output, output));
      });
    const { value, grads } = valueAndGrads((..._: Tensor[]) => loss())(
      names.map((n) => params.get(n)!),
    );
    expect(grads.map((g) => g.shape)).toEqual(names.map((n) => params.get(n)!.shape));
    for (const g of grads) expect((await g.data()).some((v) => v !== 0)).toBe(true);
    // One gradient-descent step through the live map lowers the loss.
    names.forEach((n, i) => {
      const old = params.get(n)!;
      params.set(
        n,
        scope(() => sub(old, mul(grads[i]!, 0.01))),
      );
      old.dispose();
    });
    const before = (await ctx.read(value))[0]!;
    const after = (await ctx.read(loss()))[0]!;
    expect(after).toBeLessThan(before);
    for (const g of grads) g.dispose();
    mha.dispose();
  },
};
