import { describe, expect, it } from 'vitest';
import { SoftmaxRow } from './online-softmax.js';

describe('SoftmaxRow', () => {
  it('equals a one-shot softmax whatever the blocking, and ignores -inf scores', () => {
    const scores = [0.3, -1.2, 5, -Infinity, 2.5, 40, -3];
    const values = scores.flatMap((_, i) => [i, -2 * i]);
    const finite = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - 40)));
    const total = finite.reduce((a, c) => a + c, 0);
    const expected = [0, 1].map((j) =>
      finite.reduce((a, w, i) => a + (w / total) * values[2 * i + j]!, 0),
    );
    for (const cuts of [[7], [1, 6], [3, 1, 3], [1, 1, 1, 1, 1, 1, 1]]) {
      const row = new SoftmaxRow(2);
      let at = 0;
      for (const n of cuts) {
        const s = Float64Array.from(scores.slice(at, at + n));
        const rows = Int32Array.from({ length: n }, (_, i) => 2 * (at + i));
        row.addBlock(s, rows, n, values);
        at += n;
      }
      const out = [Number.NaN, Number.NaN];
      row.writeTo(out, 0);
      expect(out[0]).toBeCloseTo(expected[0]!, 12);
      expect(out[1]).toBeCloseTo(expected[1]!, 12);
    }
  });

  it('writes zeros for a row whose keys are all masked', () => {
    const row = new SoftmaxRow(3);
    row.addBlock(Float64Array.of(-Infinity, -Infinity), Int32Array.of(0, 3), 2, [1, 2, 3, 4, 5, 6]);
    const out = [Number.NaN, Number.NaN, Number.NaN];
    row.writeTo(out, 0);
    expect(out).toEqual([0, 0, 0]);
  });

  it('turns NaN for a row that attends a NaN score, even one alone in its block', () => {
    for (const blocks of [[[0.5, 1]], [[0.5, 1], [Number.NaN]], [[Number.NaN], [0.5]]]) {
      const row = new SoftmaxRow(1);
      let at = 0;
      for (const b of blocks) {
        const rows = Int32Array.from(b, (_, i) => at + i);
        row.addBlock(Float64Array.from(b), rows, b.length, [1, 2, 3]);
        at += b.length;
      }
      const out = [0];
      row.writeTo(out, 0);
      const sawNaN = blocks.flat().some(Number.isNaN);
      expect(Number.isNaN(out[0]), `${JSON.stringify(blocks)}`).toBe(sawNaN);
      expect(Number.isNaN(row.logSumExp())).toBe(sawNaN);
    }
  });
});
