import { attention, liveTensors, Random, type Tensor, tensor, valueAndGrads } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import { maskToTensor } from './mask.js';
import { slidingWindow } from './patterns.js';
import { alibi } from './score-mods.js';

// The front-end's gradient, end to end: `blockSparseAttention` under a sliding window with
// grouped-query heads against dense `attention` under the same mask as a bool tensor.

const random = (rng: Random, shape: number[]) =>
  tensor(
    Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.nextFloat() * 2 - 1),
    shape,
  );

describe('blockSparseAttention gradient', () => {
  it('matches dense attention under the same mask (sliding window, GQA, blocks off the grid)', async () => {
    const rng = new Random(11);
    const [L, E] = [23, 6];
    const q = random(rng, [2, 4, L, E]);
    const k = random(rng, [2, 2, L, E]);
    const v = random(rng, [2, 2, L, E]);
    const dy = random(rng, [2, 4, L, E]);
    const before = liveTensors();
    const window = slidingWindow(5);
    const mask = maskToTensor(window, { qLen: L, kvLen: L });
    const sparse = valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
      blockSparseAttention(a, b, c, window, { blockSize: 8, enableGqa: true }),
    )([q, k, v], dy);
    const dense = valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
      attention(a, b, c, { attnMask: mask, enableGqa: true }),
    )([q, k, v], dy);
    for (let i = 0; i < 3; i++) {
      const got = await sparse.grads[i]!.data();
      const want = await dense.grads[i]!.data();
      const off = Array.from(got).filter(
        (x, e) => !(Math.abs(x - want[e]!) <= 1e-5 + 1e-5 * Math.abs(want[e]!)),
      );
      expect(off.length, `elements of gradient ${i} off dense attention's`).toBe(0);
    }
    for (const t of [sparse.value, dense.value, ...sparse.grads, ...dense.grads, mask]) t.dispose();
    expect(liveTensors()).toBe(before);
    for (const t of [q, k, v, dy]) t.dispose();
  });

  it('refuses a score modifier, naming the op', () => {
    const rng = new Random(2);
    const q = random(rng, [1, 2, 6, 4]);
    const f = (a: Tensor) =>
      blockSparseAttention(a, q, q, slidingWindow(3), { scoreMod: alibi(2) });
    expect(() => valueAndGrads(f)([q])).toThrow(
      /blockSparseAttentionBackward: the gradient through a score modifier is not supported/,
    );
    q.dispose();
  });
});
