import { liveTensors } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { h, kvIdx, qIdx } from './expr.js';
import { maskFromPredicate, maskToTensor, materializeMask } from './mask.js';
import { keyPadding, slidingWindow } from './patterns.js';

describe('maskToTensor', () => {
  it('is [qLen, kvLen] for masks that read neither b nor h', () => {
    const before = liveTensors();
    const t = maskToTensor(slidingWindow(2), { qLen: 3, kvLen: 4 });
    expect(t.shape).toEqual([3, 4]);
    expect(t.dtype).toBe('bool');
    expect(Array.from(t.dataSync())).toEqual([1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0]);
    t.dispose();
    expect(liveTensors()).toBe(before);
  });

  it('adds batch and head dimensions when the mask reads them', () => {
    const perBatch = maskToTensor(keyPadding([1, 3]), { qLen: 2, kvLen: 3, batch: 2, heads: 4 });
    expect(perBatch.shape).toEqual([2, 1, 2, 3]);
    expect(Array.from(perBatch.dataSync())).toEqual([1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
    const perHead = maskToTensor(qIdx.sub(kvIdx).abs().le(h), { qLen: 3, kvLen: 3, heads: 2 });
    expect(perHead.shape).toEqual([1, 2, 3, 3]);
    expect(Array.from(perHead.dataSync().subarray(9))).toEqual(
      Array.from(materializeMask(qIdx.sub(kvIdx).abs().le(h), 3, 3, 0, 1)),
    );
    expect(() => maskToTensor(keyPadding([1]), { qLen: 2, kvLen: 2 })).toThrow(/options.batch/);
    const pred = maskToTensor(
      maskFromPredicate((_b, _h, q, k) => q === k, { dependsOnBatch: false, dependsOnHead: false }),
      { qLen: 2, kvLen: 2 },
    );
    expect(Array.from(pred.dataSync())).toEqual([1, 0, 0, 1]);
    for (const t of [perBatch, perHead, pred]) t.dispose();
  });
});
