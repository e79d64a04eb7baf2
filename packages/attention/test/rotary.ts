import { add, concat, mul, narrow, neg, scope, type Tensor, tensor } from '@qkv/tensor';
import type { RotaryEmbedding } from '../src/index.js';

/**
 * A plain rotary embedding (Su et al. 2021, rotate-half layout) for tests of the `rope` slot:
 * position p rotates dimension pair (i, i + D/2) by p·10000^(-2i/D).
 */
export function testRotary(): RotaryEmbedding {
  return {
    apply(x: Tensor, offset: number): Tensor {
      return scope(() => {
        const [t, d] = x.shape.slice(-2) as [number, number];
        const half = d / 2;
        const angle = (p: number, i: number) => (offset + p) * 10000 ** (-(2 * (i % half)) / d);
        const table = (f: (a: number) => number) =>
          tensor(
            Array.from({ length: t * d }, (_, k) => f(angle(Math.floor(k / d), k % d))),
            [t, d],
            { device: x.device },
          );
        const rotated = concat([neg(narrow(x, -1, half, half)), narrow(x, -1, 0, half)], -1);
        return add(mul(x, table(Math.cos)), mul(rotated, table(Math.sin)));
      });
    },
  };
}
