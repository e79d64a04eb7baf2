import { describe, expect, it } from 'vitest';
import { grads } from '../autodiff/tape.js';
import { tensor } from '../creation.js';
import { liveTensors } from '../lifetime.js';
import {
  BlockSparseAttentionOp,
  type BlockSparseStats,
  type BlockTables,
} from '../ops/block-sparse-attention.js';
import { Random } from '../random.js';
import { runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';

// The backward visits the blocks the forward visits and no others: with a sliding window, the
// mask is evaluated on the same partial blocks by the forward, the log-sum-exp pass (two
// sweeps) and the backward pass, so the whole gradient costs O(N·W) like the forward.

const N = 40;
const BLOCK = 4;
const WINDOW = 6;
const inWindow = (i: number, j: number) => j <= i && i - j < WINDOW;

/** Full / partial key blocks per query block of the sliding window. */
function windowTables(): BlockTables {
  const blocks = N / BLOCK;
  const full: number[][] = [];
  const partial: number[][] = [];
  for (let qb = 0; qb < blocks; qb++) {
    const [f, p]: number[][] = [[], []];
    for (let kb = 0; kb < blocks; kb++) {
      let allowed = 0;
      for (let i = qb * BLOCK; i < (qb + 1) * BLOCK; i++)
        for (let j = kb * BLOCK; j < (kb + 1) * BLOCK; j++) allowed += Number(inWindow(i, j));
      if (allowed === BLOCK * BLOCK) f!.push(kb);
      else if (allowed > 0) p!.push(kb);
    }
    full.push(f!);
    partial.push(p!);
  }
  const offsets = (rows: number[][]) =>
    Int32Array.from([0, ...rows.map((_, i) => rows.slice(0, i + 1).flat().length)]);
  return {
    qLen: N,
    kvLen: N,
    blockQ: BLOCK,
    blockKv: BLOCK,
    numQBlocks: blocks,
    batch: 1,
    heads: 1,
    fullOffsets: offsets(full),
    fullIndices: Int32Array.from(full.flat()),
    partialOffsets: offsets(partial),
    partialIndices: Int32Array.from(partial.flat()),
  };
}

describe('blockSparseAttention backward', () => {
  it('evaluates the mask only on the partial blocks the forward visits', () => {
    const rng = new Random(3);
    const values = () => Array.from({ length: N * 8 }, () => rng.nextFloat() * 2 - 1);
    const [q, k, v, dy] = [0, 1, 2, 3].map(() => tensor(values(), [1, 1, N, 8]));
    const before = liveTensors();
    let calls = 0;
    let farCalls = 0;
    const mask = (_b: number, _h: number, i: number, j: number) => {
      calls++;
      // A key block this far from the query block is empty and must never be visited.
      if (Math.floor(j / BLOCK) < Math.floor(i / BLOCK) - 2 || j > i + BLOCK) farCalls++;
      return inWindow(i, j);
    };
    const stats: BlockSparseStats = {
      blocksVisited: 0,
      fullBlocksVisited: 0,
      partialBlocksVisited: 0,
      maskEvaluations: 0,
      scoresComputed: 0,
    };
    const attrs = { blocks: windowTables(), mods: { mask }, scale: 0.5, stats };
    runOp(BlockSparseAttentionOp, [q!, k!, v!], attrs)[0]!.dispose();
    const forward = stats.maskEvaluations;
    expect(forward).toBeGreaterThan(0);
    expect(forward).toBeLessThan(N * 3 * BLOCK);
    calls = 0;
    const g = grads((a, b, c) => runOp(BlockSparseAttentionOp, [a!, b!, c!], attrs)[0]!)(
      [q!, k!, v!],
      dy,
    );
    // The forward again, the log-sum-exp pass's two sweeps, then the backward pass.
    expect(calls).toBe(4 * forward);
    expect(farCalls).toBe(0);
    for (const t of g) t.dispose();
    expect(liveTensors()).toBe(before);
    for (const t of [q!, k!, v!, dy!]) t.dispose();
  });

  it("evaluates a score modifier's derivative once per attended pair, in the forward's blocks", () => {
    const rng = new Random(4);
    const values = () => Array.from({ length: N * 8 }, () => rng.nextFloat() * 2 - 1);
    const [q, k, v, dy] = [0, 1, 2, 3].map(() => tensor(values(), [1, 1, N, 8]));
    const before = liveTensors();
    let gradCalls = 0;
    let outside = 0;
    const mods = {
      mask: (_b: number, _h: number, i: number, j: number) => inWindow(i, j),
      scoreMod: (_b: number, _h: number, _i: number, _j: number, s: number) => 2 * Math.tanh(s),
      scoreModGrad: (_b: number, _h: number, i: number, j: number, s: number) => {
        gradCalls++;
        if (!inWindow(i, j)) outside++;
        return 2 * (1 - Math.tanh(s) ** 2);
      },
    };
    const attrs = { blocks: windowTables(), mods, scale: 0.5 };
    const g = grads((a, b, c) => runOp(BlockSparseAttentionOp, [a!, b!, c!], attrs)[0]!)(
      [q!, k!, v!],
      dy,
    );
    let attended = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) attended += Number(inWindow(i, j));
    // Only the backward pass needs the derivative; the log-sum-exp pass does not.
    expect(gradCalls).toBe(attended);
    expect(outside).toBe(0);
    for (const t of g) t.dispose();
    expect(liveTensors()).toBe(before);
    for (const t of [q!, k!, v!, dy!]) t.dispose();
  });

  it('refuses a score modifier without a derivative when the forward is recorded', () => {
    const q = tensor(
      Array.from({ length: N * 8 }, (_, i) => Math.sin(i)),
      [1, 1, N, 8],
    );
    const before = liveTensors();
    const mods = {
      scoreMod: (_b: number, _h: number, _i: number, _j: number, s: number) => Math.floor(s),
      scoreModGradMissing: 'floor has none',
    };
    const attrs = { blocks: windowTables(), mods, scale: 0.5 };
    const f = (a: Tensor) => runOp(BlockSparseAttentionOp, [a, q, q], attrs)[0]!;
    // The forward alone runs; recorded for a gradient it is refused, leaking nothing.
    f(q).dispose();
    expect(() => grads(f)([q])).toThrow(
      /^blockSparseAttention: the gradient through the score modifier needs its derivative: floor has none$/,
    );
    expect(liveTensors()).toBe(before);
    q.dispose();
  });
});
