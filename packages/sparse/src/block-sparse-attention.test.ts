import { cpu, debugFlags, liveTensors, QkvError, Random, tensor } from '@qkv/tensor';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BlockMask, createBlockMask } from './block-mask.js';
import { blockSparseAttention, emptyStats } from './block-sparse-attention.js';
import { compileJs } from './compile-js.js';
import { kvIdx, qIdx } from './expr.js';
import { compileMask, type Mask, maskFromPredicate } from './mask.js';
import { causal, documentMask, slidingWindow } from './patterns.js';
import { alibi, composeScoreMods, softCap } from './score-mods.js';
import { PATTERN_KINDS, randomPattern, randomPredicate } from './test-masks.js';
import { denseAttention, expectAllClose, type ProblemSize, randomTensor } from './test-utils.js';

/** Run the kernel on `input` (a mask or a block mask of `mask`) and the dense reference. */
function run(
  c: ProblemSize,
  mask: Mask,
  seed: number,
  options: Parameters<typeof blockSparseAttention>[4] = {},
  input: Mask | BlockMask = mask,
) {
  const q = randomTensor([c.batch, c.heads, c.qLen, c.headDim], seed);
  const k = randomTensor([c.batch, c.kvHeads, c.kvLen, c.headDim], seed + 1);
  const v = randomTensor([c.batch, c.kvHeads, c.kvLen, c.valueDim], seed + 2);
  const out = blockSparseAttention(q, k, v, input, { enableGqa: true, ...options });
  const scale = options.scale ?? 1 / Math.sqrt(c.headDim);
  const mod = options.scoreMod ? compileJs(options.scoreMod) : undefined;
  const expected = denseAttention({
    ...c,
    q: q.dataSync(),
    k: k.dataSync(),
    v: v.dataSync(),
    scale,
    mask: compileMask(mask),
    ...(mod ? { scoreMod: mod } : {}),
  });
  const actual = out.dataSync();
  expect(out.shape).toEqual([c.batch, c.heads, c.qLen, c.valueDim]);
  for (const t of [q, k, v, out]) t.dispose();
  return { actual, expected };
}

describe('blockSparseAttention', () => {
  let baseline = 0;
  beforeEach(() => {
    cpu();
    debugFlags.poisonOutputs = true;
    baseline = liveTensors();
  });
  afterEach(() => {
    debugFlags.poisonOutputs = false;
    expect(liveTensors()).toBe(baseline);
  });

  it.each([
    ['causal, blocks dividing N', causal(), { qLen: 32, kvLen: 32 }, 8],
    ['causal, ragged last block', causal(), { qLen: 37, kvLen: 37 }, 8],
    ['sliding window 5', slidingWindow(5), { qLen: 29, kvLen: 29 }, 4],
    ['bottom-right causal, L < S', causal(7), { qLen: 5, kvLen: 12 }, 3],
  ])('%s equals dense attention', (_name, mask, lens, blockSize) => {
    const c = { batch: 2, heads: 3, kvHeads: 3, headDim: 7, valueDim: 5, ...lens };
    const { actual, expected } = run(c, mask, 11, { blockSize });
    expectAllClose(actual, expected);
  });

  it('matches dense attention on random patterns, shapes and block sizes', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom(...PATTERN_KINDS),
          seed: fc.nat(1e6),
          batch: fc.integer({ min: 1, max: 2 }),
          kvHeads: fc.integer({ min: 1, max: 2 }),
          group: fc.integer({ min: 1, max: 2 }),
          qLen: fc.integer({ min: 1, max: 41 }),
          kvLen: fc.integer({ min: 1, max: 41 }),
          headDim: fc.integer({ min: 1, max: 9 }),
          valueDim: fc.integer({ min: 1, max: 6 }),
          blockQ: fc.integer({ min: 1, max: 17 }),
          blockKv: fc.integer({ min: 1, max: 17 }),
          classify: fc.constantFrom('analytic', 'per-element', 'dense' as const),
        }),
        (p) => {
          const c = { ...p, heads: p.kvHeads * p.group };
          const mask = randomPattern(p.kind, p.seed, c);
          const blockMask = createBlockMask(mask, {
            qLen: c.qLen,
            kvLen: c.kvLen,
            blockQ: p.blockQ,
            blockKv: p.blockKv,
            batch: c.batch,
            heads: c.heads,
            classify: p.classify,
          });
          const { actual, expected } = run(c, mask, p.seed, {}, blockMask);
          expectAllClose(actual, expected);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });

  it('handles predicates the expression language cannot see into', () => {
    const c = { batch: 2, heads: 1, kvHeads: 1, qLen: 23, kvLen: 19, headDim: 4, valueDim: 3 };
    const mask = randomPredicate(5, c, 0.3);
    const { actual, expected } = run(c, mask, 3, { blockSize: 5 });
    expectAllClose(actual, expected);
  });

  it('gives zeros, not NaN, for rows that attend nothing', () => {
    // Queries 0..3 see no key at all: a document mask whose first segment has no keys.
    const c = { batch: 1, heads: 2, kvHeads: 2, qLen: 10, kvLen: 10, headDim: 3, valueDim: 4 };
    const mask = documentMask([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], {
      kvSegmentIds: [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
    });
    const { actual, expected } = run(c, mask, 9, { blockSize: 3 });
    expectAllClose(actual, expected);
    expect(Array.from(actual.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(actual.some((x) => x !== 0)).toBe(true);
  });

  it('applies score modifiers like the dense reference', () => {
    const c = { batch: 1, heads: 4, kvHeads: 2, qLen: 21, kvLen: 21, headDim: 8, valueDim: 8 };
    const scoreMod = composeScoreMods(alibi(4), softCap(2));
    const { actual, expected } = run(c, slidingWindow(6), 21, { blockSize: 4, scoreMod });
    expectAllClose(actual, expected);
  });

  it('visits only non-empty blocks and evaluates the mask only in partial ones', () => {
    const n = 64;
    const blockSize = 8;
    const stats = emptyStats();
    const q = randomTensor([1, 1, n, 4], 1);
    const out = blockSparseAttention(q, q, q, slidingWindow(16), { blockSize, stats });
    const m = createBlockMask(slidingWindow(16), { qLen: n, kvLen: n, blockSize });
    expect(stats.fullBlocksVisited).toBe(m.fullIndices.length);
    expect(stats.partialBlocksVisited).toBe(m.partialIndices.length);
    expect(stats.maskEvaluations).toBe(m.partialIndices.length * blockSize * blockSize);
    // Attended pairs: each row sees min(q + 1, 16) keys.
    let pairs = 0;
    for (let i = 0; i < n; i++) pairs += Math.min(i + 1, 16);
    expect(stats.scoresComputed).toBe(pairs);
    // Far fewer than the n^2 a dense kernel computes.
    expect(stats.blocksVisited).toBeLessThan((n / blockSize) ** 2 / 2);
    out.dispose();
    q.dispose();
  });

  it('rejects inputs that do not fit', () => {
    const q = randomTensor([1, 2, 5, 4], 1);
    const k = randomTensor([1, 2, 6, 4], 2);
    const kOdd = randomTensor([1, 2, 6, 3], 2);
    const k3 = randomTensor([1, 3, 6, 4], 2);
    const mask = createBlockMask(causal(), { qLen: 5, kvLen: 5 });
    expect(() => blockSparseAttention(q, k, k, mask)).toThrow(
      /qLen 5, kvLen 5 but q has 5 and k 6/,
    );
    expect(() => blockSparseAttention(q, kOdd, kOdd, causal())).toThrow(QkvError);
    expect(() => blockSparseAttention(q, k3, k3, causal(), { enableGqa: true })).toThrow(
      /must be a multiple of key\/value heads/,
    );
    const k1 = randomTensor([1, 1, 6, 4], 2);
    expect(() => blockSparseAttention(q, k1, k1, causal())).toThrow(/enableGqa/);
    expect(() => blockSparseAttention(q, k, k, qIdx.add(kvIdx) as never)).toThrow(/bool/);
    for (const t of [q, k, kOdd, k3, k1]) t.dispose();
  });

  it('keeps float16 inputs in float16 and rounds like float16', () => {
    const rng = new Random(3);
    const data = Array.from({ length: 2 * 9 * 4 }, () => rng.nextNormal());
    const x = tensor(data, [2, 9, 4], { dtype: 'float16' });
    const out = blockSparseAttention(x, x, x, causal(), { blockSize: 4 });
    expect(out.dtype).toBe('float16');
    expect(out.shape).toEqual([2, 9, 4]);
    const rounded = x.dataSync();
    const expected = denseAttention({
      batch: 1,
      heads: 2,
      kvHeads: 2,
      qLen: 9,
      kvLen: 9,
      headDim: 4,
      valueDim: 4,
      q: rounded,
      k: rounded,
      v: rounded,
      scale: 0.5,
      mask: (_b, _h, i, j) => i >= j,
    });
    expectAllClose(out.dataSync(), expected, 2e-3, 2e-3);
    x.dispose();
    out.dispose();
  });

  it('per-element predicates and their expression twins agree', () => {
    const c = { batch: 1, heads: 1, kvHeads: 1, qLen: 17, kvLen: 17, headDim: 4, valueDim: 4 };
    const expr = slidingWindow(4);
    const f = compileMask(expr);
    const viaPredicate = run(
      c,
      maskFromPredicate((b, h, q, k) => f(b, h, q, k) === 1),
      2,
      {
        blockSize: 5,
      },
    );
    const viaExpr = run(c, expr, 2, { blockSize: 5 });
    expectAllClose(viaPredicate.actual, viaExpr.actual, 0, 0);
  });
});
