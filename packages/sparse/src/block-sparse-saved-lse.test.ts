import {
  getKernel,
  liveTensors,
  Random,
  registerKernel,
  type Tensor,
  tensor,
  unregisterKernel,
  valueAndGrads,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import { slidingWindow } from './patterns.js';

// Under a gradient tape the front-end asks the forward for each row's log-sum-exp, so the
// backward never runs `blockSparseAttentionLse` (one fewer pass over the visited blocks).

const random = (rng: Random, shape: number[]) =>
  tensor(
    Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.nextFloat() * 2 - 1),
    shape,
  );

/** The number of outputs of each run of the CPU kernel of `op` while `fn` runs. */
function cpuRuns(op: string, fn: () => void): number[] {
  const original = getKernel(op, 'cpu');
  if (!original) throw new Error(`no CPU kernel for ${op}`);
  const runs: number[] = [];
  unregisterKernel(op, 'cpu');
  registerKernel({
    ...original,
    run: (ctx) => {
      runs.push(ctx.outputs.length);
      return original.run(ctx as never);
    },
  });
  try {
    fn();
  } finally {
    unregisterKernel(op, 'cpu');
    registerKernel(original);
  }
  return runs;
}

describe('blockSparseAttention under a gradient tape', () => {
  it('saves the log-sum-exp in the forward: the backward does not run blockSparseAttentionLse', () => {
    const rng = new Random(5);
    const [q, k, v, dy] = [0, 1, 2, 3].map(() => random(rng, [1, 2, 13, 4])) as Tensor[];
    const before = liveTensors();
    const f = (a: Tensor, b: Tensor, c: Tensor) =>
      blockSparseAttention(a, b, c, slidingWindow(4), { blockSize: 4 });
    let forward: number[] = [];
    const lse = cpuRuns('blockSparseAttentionLse', () => {
      forward = cpuRuns('blockSparseAttention', () => {
        const { value, grads } = valueAndGrads(f)([q!, k!, v!], dy);
        for (const t of [value, ...grads]) t.dispose();
      });
    });
    // One forward, with two outputs (out and the log-sum-exp); no separate LSE pass.
    expect(forward).toEqual([2]);
    expect(lse).toEqual([]);
    // Outside a tape the forward is unchanged and the op on its own still works.
    const out = f(q!, k!, v!);
    expect(out.shape).toEqual([1, 2, 13, 4]);
    out.dispose();
    expect(liveTensors()).toBe(before);
    for (const t of [q, k, v, dy]) t!.dispose();
  });
});
