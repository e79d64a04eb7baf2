import { cpu, liveTensors, type TypedArray, tensor } from '@qkv/tensor';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { blockSparseAttention } from './block-sparse-attention.js';
import { kvIdx, qIdx } from './expr.js';
import { slidingWindow } from './patterns.js';
import { RollingKvCache } from './rolling-kv-cache.js';
import { alibi } from './score-mods.js';
import { expectAllClose, randomTensor } from './test-utils.js';

/** Rows [from, to) of a [B, H, L, D] array. */
function rows(
  data: TypedArray,
  B: number,
  H: number,
  L: number,
  D: number,
  from: number,
  to: number,
) {
  const out: number[] = [];
  for (let i = 0; i < B * H; i++) out.push(...data.subarray((i * L + from) * D, (i * L + to) * D));
  return out;
}

describe('RollingKvCache', () => {
  beforeEach(() => {
    cpu();
  });

  it('equals full-sequence sliding-window attention at every step, in chunks of any size', () => {
    fc.assert(
      fc.property(
        fc.record({
          window: fc.integer({ min: 1, max: 9 }),
          batch: fc.integer({ min: 1, max: 2 }),
          kvHeads: fc.integer({ min: 1, max: 2 }),
          group: fc.integer({ min: 1, max: 2 }),
          headDim: fc.integer({ min: 1, max: 6 }),
          valueDim: fc.integer({ min: 1, max: 5 }),
          chunks: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 6 }),
          seed: fc.nat(1e6),
          withAlibi: fc.boolean(),
        }),
        (p) => {
          const baseline = liveTensors();
          const H = p.kvHeads * p.group;
          const n = p.chunks.reduce((a, c) => a + c, 0);
          const q = randomTensor([p.batch, H, n, p.headDim], p.seed);
          const k = randomTensor([p.batch, p.kvHeads, n, p.headDim], p.seed + 1);
          const v = randomTensor([p.batch, p.kvHeads, n, p.valueDim], p.seed + 2);
          const scoreMod = p.withAlibi ? alibi(H) : undefined;
          const options = scoreMod ? { scoreMod } : {};
          const full = blockSparseAttention(q, k, v, slidingWindow(p.window), {
            blockSize: 4,
            enableGqa: true,
            ...options,
          });
          const expected = full.dataSync();
          const cache = new RollingKvCache(p);
          const [qd, kd, vd] = [q.dataSync(), k.dataSync(), v.dataSync()];
          let at = 0;
          for (const c of p.chunks) {
            const slice = (d: TypedArray, heads: number, dim: number) =>
              tensor(rows(d, p.batch, heads, n, dim, at, at + c), [p.batch, heads, c, dim]);
            const qs = slice(qd, H, p.headDim);
            const ks = slice(kd, p.kvHeads, p.headDim);
            const vs = slice(vd, p.kvHeads, p.valueDim);
            const out = cache.step(qs, ks, vs, options);
            expectAllClose(out.dataSync(), rows(expected, p.batch, H, n, p.valueDim, at, at + c));
            for (const t of [qs, ks, vs, out]) t.dispose();
            at += c;
          }
          expect(cache.position).toBe(n);
          for (const t of [q, k, v, full]) t.dispose();
          expect(liveTensors()).toBe(baseline);
        },
      ),
      { numRuns: 60, seed: 13 },
    );
  });

  it('rejects inputs that do not match the cache', () => {
    const cache = new RollingKvCache({ window: 4, kvHeads: 2, headDim: 3 });
    const q = randomTensor([1, 2, 1, 3], 1);
    const k = randomTensor([1, 1, 1, 3], 2);
    const k4 = randomTensor([1, 2, 1, 4], 2);
    expect(() => cache.step(q, k, k)).toThrow(/cache holds 1, 2/);
    expect(() => cache.step(q, k4, k4)).toThrow(/must share the last dimension E/);
    expect(() => new RollingKvCache({ window: 0, kvHeads: 1, headDim: 1 })).toThrow(/window/);
    for (const t of [q, k, k4]) t.dispose();
  });

  it('a rejected step changes nothing: position, contents and live tensors stay', () => {
    const options = { window: 3, kvHeads: 2, headDim: 3, valueDim: 2 };
    const [cache, twin] = [new RollingKvCache(options), new RollingKvCache(options)];
    const step = (c: RollingKvCache, seed: number, t: number) => {
      const q = randomTensor([1, 4, t, 3], seed);
      const k = randomTensor([1, 2, t, 3], seed + 1);
      const v = randomTensor([1, 2, t, 2], seed + 2);
      const out = c.step(q, k, v);
      const data = Array.from(out.dataSync());
      for (const x of [q, k, v, out]) x.dispose();
      return data;
    };
    step(cache, 1, 2);
    step(twin, 1, 2);
    const q = randomTensor([1, 4, 2, 3], 7);
    const k = randomTensor([1, 2, 2, 3], 8);
    const kShort = randomTensor([1, 2, 1, 3], 8);
    const kOneHead = randomTensor([1, 1, 2, 3], 8);
    const vWide = randomTensor([1, 2, 2, 5], 9);
    const baseline = liveTensors();
    for (const bad of [
      () => cache.step(q, kShort, kShort),
      () => cache.step(q, kOneHead, kOneHead),
      () => cache.step(q, k, vWide),
      () => cache.step(q, k, k, { scoreMod: qIdx.lt(kvIdx) }),
    ]) {
      expect(bad).toThrow(/RollingKvCache/);
    }
    expect(liveTensors()).toBe(baseline);
    expect(cache.position).toBe(2);
    // Same contents: the next steps (which read the slots written before) agree exactly.
    expect(step(cache, 11, 2)).toEqual(step(twin, 11, 2));
    expect(step(cache, 21, 1)).toEqual(step(twin, 21, 1));
    for (const t of [q, k, kShort, kOneHead, vWide]) t.dispose();
  });
});
