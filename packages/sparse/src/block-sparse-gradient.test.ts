import { describeConformance } from '@qkv/conformance';
import {
  attention,
  cpu,
  finiteDifferenceCheck,
  liveTensors,
  Random,
  type Tensor,
  tensor,
  valueAndGrads,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import { type Expr, f32, score, where } from './expr.js';
import { maskToTensor } from './mask.js';
import { slidingWindow } from './patterns.js';
import { alibi, composeScoreMods, relativeBias, softCap } from './score-mods.js';
import { SCORE_MOD_GRADIENT_CASES, SCORE_MOD_GRADIENT_ERRORS } from './test-score-mod-grads.js';
import { expectAllClose } from './test-utils.js';

// The front-end's gradient, end to end: `blockSparseAttention` under a sliding window with
// grouped-query heads against dense `attention` under the same mask as a bool tensor; through
// score modifiers against finite differences, PyTorch and dense attention
// (test-score-mod-grads.ts, which the WebGPU tests run too).

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

  it('finite differences agree through score modifiers (where / exp / max / abs, composed)', () => {
    const rng = new Random(5);
    const [L, E] = [7, 3];
    const values = (n: number) => Array.from({ length: n }, () => rng.nextFloat() * 3 - 1.5);
    const mods: Expr[] = [
      composeScoreMods(softCap(1.5), alibi(2)),
      where(score.gt(0.1), score.mul(score).mul(0.5), score.exp().sub(1)),
      score
        .abs()
        .max(score.mul(-0.5).add(0.3))
        .add(relativeBias([0.5, -1, 2], 1)),
      score.div(score.abs().add(1)).mod(f32(0.75)),
    ];
    for (const scoreMod of mods) {
      const { analytic, numeric } = finiteDifferenceCheck(
        (q, k, v) => blockSparseAttention(q!, k!, v!, slidingWindow(4), { scoreMod, blockSize: 3 }),
        [0, 1, 2].map(() => ({ shape: [1, 2, L, E], values: values(2 * L * E) })),
        { eps: 1e-3 },
      );
      for (const [i, a] of analytic.entries()) {
        expectAllClose(a, numeric[i]!, 2e-3, 2e-2);
      }
    }
  });
});

describeConformance('cpu', () => cpu(), {
  'gradients through score modifiers': SCORE_MOD_GRADIENT_CASES,
  'score modifiers without a derivative': SCORE_MOD_GRADIENT_ERRORS,
});
