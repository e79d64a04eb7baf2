import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_EMPTY,
  BLOCK_FULL,
  BLOCK_PARTIAL,
  type BlockMask,
  blockDensity,
  blockRow,
  blockState,
  createBlockMask,
} from './block-mask.js';
import { b, h, kvIdx, qIdx } from './expr.js';
import { compileMask, type Mask, maskFromPredicate } from './mask.js';
import {
  bigBird,
  causal,
  documentMask,
  slidingWindow,
  sparseTransformerFixed,
  symmetricWindow,
} from './patterns.js';
import { PATTERN_KINDS, randomPattern, randomPredicate } from './test-masks.js';

/** Block states found by looking at every element, the ground truth. */
function trueStates(mask: Mask, m: BlockMask, bi: number, hi: number, qb: number): number[] {
  const f = compileMask(mask);
  return Array.from({ length: m.numKvBlocks }, (_, kb) => {
    let any = false;
    let all = true;
    for (let q = qb * m.blockQ; q < Math.min((qb + 1) * m.blockQ, m.qLen); q++) {
      for (let k = kb * m.blockKv; k < Math.min((kb + 1) * m.blockKv, m.kvLen); k++) {
        if (f(bi, hi, q, k)) any = true;
        else all = false;
      }
    }
    return all ? BLOCK_FULL : any ? BLOCK_PARTIAL : BLOCK_EMPTY;
  });
}

function statesOf(m: BlockMask, bi: number, hi: number, qb: number): number[] {
  const r = blockRow(m, bi, hi, qb);
  return Array.from({ length: m.numKvBlocks }, (_, kb) => blockState(m, r, kb));
}

function expectLayoutConsistent(m: BlockMask): void {
  const rows = m.batch * m.heads * m.numQBlocks;
  for (const [counts, offsets, indices] of [
    [m.fullCounts, m.fullOffsets, m.fullIndices],
    [m.partialCounts, m.partialOffsets, m.partialIndices],
  ] as const) {
    expect(counts.length).toBe(rows);
    expect(offsets.length).toBe(rows + 1);
    expect(offsets[0]).toBe(0);
    expect(offsets[rows]).toBe(indices.length);
    for (let r = 0; r < rows; r++) {
      expect(offsets[r + 1]! - offsets[r]!).toBe(counts[r]);
      const list = Array.from(indices.subarray(offsets[r]!, offsets[r + 1]!));
      expect(list).toEqual([...list].sort((x, y) => x - y));
      expect(new Set(list).size).toBe(list.length);
      for (const kb of list) expect(kb >= 0 && kb < m.numKvBlocks).toBe(true);
    }
  }
}

describe('createBlockMask', () => {
  it('classifies causal blocks exactly, ragged edges included', () => {
    const m = createBlockMask(causal(), { qLen: 10, kvLen: 10, blockSize: 4 });
    expect(m.numQBlocks).toBe(3);
    expect(m.classification).toBe('analytic');
    expect(m.elementsEvaluated).toBe(0);
    // Row 0 (q 0..3): k-block 0 is the diagonal; rows 1 and 2 see earlier blocks in full.
    expect(statesOf(m, 0, 0, 0)).toEqual([BLOCK_PARTIAL, BLOCK_EMPTY, BLOCK_EMPTY]);
    expect(statesOf(m, 0, 0, 1)).toEqual([BLOCK_FULL, BLOCK_PARTIAL, BLOCK_EMPTY]);
    expect(statesOf(m, 0, 0, 2)).toEqual([BLOCK_FULL, BLOCK_FULL, BLOCK_PARTIAL]);
    expect(Array.from(m.fullCounts)).toEqual([0, 1, 2]);
    expect(Array.from(m.fullOffsets)).toEqual([0, 0, 1, 3]);
    expect(Array.from(m.fullIndices)).toEqual([0, 0, 1]);
    expect(Array.from(m.partialIndices)).toEqual([0, 1, 2]);
    expectLayoutConsistent(m);
  });

  it.each([
    ['causal', causal()],
    ['bottom-right causal', causal(5)],
    ['sliding window', slidingWindow(13)],
    ['symmetric window', symmetricWindow(6)],
    ['fixed (stride = block)', sparseTransformerFixed(8, 2)],
    ['document', documentMask([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3])],
    ['bigbird (block = mask block)', bigBird({ blockSize: 8, seqLen: 61, seed: 3 })],
  ])('is tight for %s: analytic states equal per-element states', (_name, mask) => {
    const opts = { qLen: 61, kvLen: 61, blockSize: 8 };
    const analytic = createBlockMask(mask, opts);
    const exact = createBlockMask(mask, { ...opts, classify: 'per-element' });
    expect(analytic.elementsEvaluated).toBe(0);
    expect(exact.elementsEvaluated).toBeGreaterThan(0);
    expect(Array.from(analytic.fullIndices)).toEqual(Array.from(exact.fullIndices));
    expect(Array.from(analytic.partialIndices)).toEqual(Array.from(exact.partialIndices));
    expect(Array.from(analytic.partialOffsets)).toEqual(Array.from(exact.partialOffsets));
  });

  it('is sound for random patterns: full and empty blocks really are', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom(...PATTERN_KINDS),
          seed: fc.nat(1e6),
          batch: fc.integer({ min: 1, max: 3 }),
          qLen: fc.integer({ min: 0, max: 50 }),
          kvLen: fc.integer({ min: 0, max: 50 }),
          blockQ: fc.integer({ min: 1, max: 19 }),
          blockKv: fc.integer({ min: 1, max: 19 }),
        }),
        (p) => {
          const mask = randomPattern(p.kind, p.seed, p);
          const m = createBlockMask(mask, { ...p, heads: 2 });
          expectLayoutConsistent(m);
          for (let bi = 0; bi < p.batch; bi++) {
            for (let qb = 0; qb < m.numQBlocks; qb++) {
              const truth = trueStates(mask, m, bi, 1, qb);
              statesOf(m, bi, 1, qb).forEach((s, kb) => {
                // Partial is always allowed (evaluated per element); full / empty must be true.
                if (s !== BLOCK_PARTIAL) expect(s, `block ${qb},${kb} of ${mask}`).toBe(truth[kb]);
              });
            }
          }
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });

  it('classifies predicates per element, exactly, and says so', () => {
    const d = { batch: 2, qLen: 30, kvLen: 26 };
    const mask = randomPredicate(3, d, 0.02);
    const m = createBlockMask(mask, { ...d, blockQ: 7, blockKv: 5, batch: 2 });
    expect(m.classification).toBe('per-element');
    expect(m.elementsEvaluated).toBeGreaterThan(0);
    expect(m.elementsEvaluated).toBeLessThanOrEqual(2 * 30 * 26);
    for (let bi = 0; bi < 2; bi++) {
      for (let qb = 0; qb < m.numQBlocks; qb++) {
        expect(statesOf(m, bi, 0, qb)).toEqual(trueStates(mask, m, bi, 0, qb));
      }
    }
  });

  it('broadcasts over batch and heads unless the mask reads them', () => {
    expect(createBlockMask(causal(), { qLen: 8, kvLen: 8, batch: 4, heads: 8 })).toMatchObject({
      batch: 1,
      heads: 1,
    });
    const perHead = createBlockMask(qIdx.sub(kvIdx).lt(h.mul(4).add(1)).and(qIdx.ge(kvIdx)), {
      qLen: 16,
      kvLen: 16,
      blockSize: 4,
      heads: 3,
    });
    expect(perHead).toMatchObject({ batch: 1, heads: 3 });
    expect(Array.from(perHead.fullCounts.subarray(0, 4))).not.toEqual(
      Array.from(perHead.fullCounts.subarray(8, 12)),
    );
    expect(() => createBlockMask(kvIdx.lt(b), { qLen: 4, kvLen: 4 })).toThrow(/options.batch/);
    expect(() => createBlockMask(causal(), { qLen: 4, kvLen: 4, blockSize: 0 })).toThrow(
      /blockSize/,
    );
    expect(() => createBlockMask(qIdx.add(1) as never, { qLen: 4, kvLen: 4 })).toThrow(/bool/);
  });

  it('builds long-sequence masks in time linear in the number of blocks, visiting no element', () => {
    // 262,144 blocks over 4.3e9 positions: an elementwise pass would take minutes.
    const n = 65536;
    const start = performance.now();
    const m = createBlockMask(slidingWindow(1024), { qLen: n, kvLen: n, blockSize: 128 });
    const ms = performance.now() - start;
    expect(m.elementsEvaluated).toBe(0);
    // Query block i: key blocks i-7 .. i-1 are full, i and i-8 partial (where they exist).
    expect(m.fullIndices.length).toBe(512 * 7 - (7 * 8) / 2);
    expect(m.partialIndices.length).toBe(512 + 504);
    expect(blockDensity(m)).toBeLessThan(0.02);
    expect(ms).toBeLessThan(5000);
  });

  it('marks every block partial when asked for a dense baseline', () => {
    const m = createBlockMask(causal(), { qLen: 10, kvLen: 7, blockSize: 4, classify: 'dense' });
    expect(m.classification).toBe('dense');
    expect(m.fullIndices.length).toBe(0);
    expect(Array.from(m.partialIndices)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(m.elementsEvaluated).toBe(0);
    expectLayoutConsistent(m);
  });

  it('accepts a predicate with head dependence and labels it', () => {
    const m = createBlockMask(
      maskFromPredicate((_b, hh, q, k) => (q + hh) % 3 === k % 3, { dependsOnBatch: false }),
      { qLen: 9, kvLen: 9, blockSize: 3, heads: 2 },
    );
    expect(m).toMatchObject({ batch: 1, heads: 2, classification: 'per-element' });
  });
});
