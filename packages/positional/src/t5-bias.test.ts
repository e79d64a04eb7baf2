import { permute, QkvError, randn, tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import {
  T5_RELATIVE_BIAS_NAMES,
  T5RelativeBias,
  t5RelativeBucket,
  t5RelativeBuckets,
} from './t5-bias.js';
import { fixtures } from './testing/fixtures.js';
import { expectNoLeaks } from './testing/leaks.js';

expectNoLeaks();

describe('t5RelativeBucket', () => {
  for (const f of fixtures.t5Buckets) {
    it(`matches PyTorch for ${f.bidirectional ? 'bidirectional' : 'causal'} numBuckets ${f.numBuckets}, maxDistance ${f.maxDistance} over [-300, 300]`, () => {
      const options = {
        bidirectional: f.bidirectional,
        numBuckets: f.numBuckets,
        maxDistance: f.maxDistance,
      };
      const got = f.relative.map((r) => t5RelativeBucket(r, options));
      const wrong = got.flatMap((b, i) =>
        b === f.buckets[i] ? [] : [`rel ${f.relative[i]}: ${b} vs ${f.buckets[i]}`],
      );
      expect(wrong).toEqual([]);
    });
  }

  it('small distances get exact buckets; future keys share bucket 0 when causal', () => {
    expect([0, -1, -7].map((r) => t5RelativeBucket(r, { bidirectional: false }))).toEqual([
      0, 1, 7,
    ]);
    expect([1, 5, 500].map((r) => t5RelativeBucket(r, { bidirectional: false }))).toEqual([
      0, 0, 0,
    ]);
    expect([-3, 3].map((r) => t5RelativeBucket(r))).toEqual([3, 19]);
    expect(t5RelativeBucket(-10000)).toBe(15);
  });

  it('rejects configurations without exact and logarithmic buckets', () => {
    expect(() => t5RelativeBucket(1, { numBuckets: 2 })).toThrow(QkvError);
    expect(() => t5RelativeBucket(1, { numBuckets: 2 })).toThrow(
      /numBuckets must be an integer >= 4 \(bidirectional halves it\), got 2/,
    );
    expect(() => t5RelativeBucket(1, { numBuckets: 32, maxDistance: 8 })).toThrow(
      /maxDistance must be an integer > 8/,
    );
    expect(() => t5RelativeBucket(0.5)).toThrow(/relativePosition must be an integer/);
  });
});

describe('T5RelativeBias', () => {
  it('gathers the learned table into [H, L, S] by bucket, with a query offset', () => {
    const weight = randn([32, 4], { seed: 11 });
    const bias = new T5RelativeBias(weight, { bidirectional: false });
    const out = bias.forward(3, 6, { queryOffset: 3 });
    expect(out.shape).toEqual([4, 3, 6]);
    const buckets = t5RelativeBuckets(3, 6, { bidirectional: false, queryOffset: 3 });
    const w = weight.dataSync();
    const data = out.dataSync();
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 6; j++) {
          expect(data[(h * 3 + i) * 6 + j]).toBe(w[buckets[i * 6 + j]! * 4 + h]);
        }
      }
    }
    expect(buckets[0 * 6 + 3]).toBe(0); // same position
    expect(buckets[0 * 6 + 0]).toBe(3); // three back
    out.dispose();
    weight.dispose();
  });

  it('loads encoder / decoder tables from a state dict and names what it expected', () => {
    const enc = randn([32, 2], { seed: 1 });
    const dec = randn([32, 2], { seed: 2 });
    const stateDict = {
      [T5_RELATIVE_BIAS_NAMES.encoder]: enc,
      [T5_RELATIVE_BIAS_NAMES.decoder]: dec,
    };
    const e = T5RelativeBias.fromStateDict(stateDict);
    const d = T5RelativeBias.fromStateDict(new Map(Object.entries(stateDict)), { decoder: true });
    expect([e.bidirectional, d.bidirectional, e.numHeads, e.numBuckets]).toEqual([
      true,
      false,
      2,
      32,
    ]);
    expect(() => T5RelativeBias.fromStateDict({ 'shared.weight': enc })).toThrow(
      /expected a tensor named 'encoder\.block\.0\.layer\.0\.SelfAttention\.relative_attention_bias\.weight' with shape \[numBuckets, numHeads\] \(numBuckets × numHeads\); the state dict has shared\.weight/,
    );
    expect(() => T5RelativeBias.fromStateDict(stateDict, { numHeads: 8 })).toThrow(
      /must have shape \[numBuckets, 8\] .* got \[32, 2\]/,
    );
    const odd = tensor(new Float32Array(6), [6]);
    expect(() => new T5RelativeBias(odd)).toThrow(
      /weight must be a float \[numBuckets, numHeads\] table, got \[6\] float32/,
    );
    for (const t of [enc, dec, odd]) t.dispose();
  });

  it('the [L, S, H] gather and permute agree with a direct lookup per head', () => {
    const weight = randn([8, 3], { seed: 4 });
    const bias = new T5RelativeBias(weight, { maxDistance: 5 });
    const out = bias.forward(4, 4);
    const back = permute(out, [1, 2, 0]); // [L, S, H]
    const w = weight.dataSync();
    const data = back.dataSync();
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const b = t5RelativeBucket(j - i, { numBuckets: 8, maxDistance: 5 });
        expect(Array.from(data.slice((i * 4 + j) * 3, (i * 4 + j + 1) * 3))).toEqual(
          Array.from(w.slice(b * 3, b * 3 + 3)),
        );
      }
    }
    for (const t of [weight, out, back]) t.dispose();
  });
});
