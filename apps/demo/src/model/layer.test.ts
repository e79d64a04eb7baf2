import { attentionWeights } from '@qkv/attention';
import { alibiSlopes, sinusoidalTable } from '@qkv/positional';
import { add, linear, liveTensors, permute, randn, scope, type Tensor, tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { expectAllClose } from '../../test/close.js';
import { attentionLayer } from './layer.js';
import { stackAt } from './matrix.js';
import { disposeProjections, randomProjections } from './weights.js';

/** Per-head attention in float64 loops, straight from the formula, as the reference. */
function reference(
  x: Tensor,
  memory: Tensor,
  wq: Tensor,
  wk: Tensor,
  wv: Tensor,
  h: number,
  causal: boolean,
) {
  const [L, d] = x.shape as [number, number];
  const S = memory.shape[0]!;
  const dh = d / h;
  const proj = (t: Tensor, w: Tensor, n: number) => {
    const a = t.dataSync();
    const b = w.dataSync();
    return Array.from({ length: n }, (_, r) =>
      Array.from({ length: d }, (_, o) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += a[r * d + c]! * b[o * d + c]!;
        return s;
      }),
    );
  };
  const [q, k, v] = [proj(x, wq, L), proj(memory, wk, S), proj(memory, wv, S)];
  return Array.from({ length: h }, (_, head) => {
    const cols = (row: number[]) => row.slice(head * dh, (head + 1) * dh);
    const weights = q.map((qi, i) => {
      const scores = k.map((kj, j) => {
        if (causal && j > i) return Number.NEGATIVE_INFINITY;
        const [a, b] = [cols(qi), cols(kj)];
        return a.reduce((s, ai, c) => s + ai * b[c]!, 0) / Math.sqrt(dh);
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((p, c) => p + c, 0);
      return e.map((x) => x / z);
    });
    const outputs = weights.map((w) =>
      Array.from({ length: dh }, (_, c) =>
        w.reduce((s, wj, j) => s + wj * v[j]![head * dh + c]!, 0),
      ),
    );
    return { weights, outputs };
  });
}

describe('attentionLayer', () => {
  for (const [name, L, S, d, h, causal] of [
    ['self, 3 heads of 5', 7, 7, 15, 3, false],
    ['self causal, 2 heads', 6, 6, 8, 2, true],
    ['cross, L != S', 5, 9, 12, 4, false],
  ] as const) {
    it(`matches the formula per head (${name})`, () => {
      const before = liveTensors();
      const p = randomProjections(d, 11);
      const x = randn([L, d], { seed: 21 });
      const memory = L === S && name.startsWith('self') ? x : randn([S, d], { seed: 22 });
      const got = attentionLayer({ x, memory, projections: p, numHeads: h, causal });
      const want = reference(x, memory, p.wq, p.wk, p.wv, h, causal);
      expect(got.headDim).toBe(d / h);
      for (let head = 0; head < h; head++) {
        const w = stackAt(got.weights, head);
        const o = stackAt(got.outputs, head);
        expect([w.rows, w.cols]).toEqual([L, S]);
        expectAllClose(w.data, want[head]!.weights.flat(), `head ${head} weights`);
        expectAllClose(o.data, want[head]!.outputs.flat(), `head ${head} outputs`);
      }
      if (causal) expect(stackAt(got.scores, 0).data[1]).toBe(Number.NEGATIVE_INFINITY);
      x.dispose();
      memory.dispose();
      disposeProjections(p);
      expect(liveTensors()).toBe(before);
    });
  }

  it('rejects a head count that does not divide d_model, naming both', () => {
    const p = randomProjections(10, 1);
    const x = randn([3, 10], { seed: 1 });
    expect(() =>
      attentionLayer({ x, memory: x, projections: p, numHeads: 4, causal: false }),
    ).toThrow(/4 heads do not divide d_model = 10/);
    x.dispose();
    disposeProjections(p);
  });

  it('adds sinusoidal encodings to the inputs, and ALiBi as the symmetric distance penalty', () => {
    const before = liveTensors();
    const [L, d, h] = [6, 8, 2];
    const p = randomProjections(d, 4);
    const x = randn([L, d], { seed: 8 });
    const table = sinusoidalTable(L, d);
    const shifted = add(x, table);
    const sin = attentionLayer({
      x,
      memory: x,
      projections: p,
      numHeads: h,
      causal: false,
      positions: 'sinusoidal',
    });
    const plain = attentionLayer({
      x: shifted,
      memory: shifted,
      projections: p,
      numHeads: h,
      causal: false,
    });
    expectAllClose(sin.weights.data, plain.weights.data, 'sinusoidal = none on x + PE');
    const alibi = attentionLayer({
      x,
      memory: x,
      projections: p,
      numHeads: h,
      causal: false,
      positions: 'alibi',
    });
    // The fused op's own ALiBi path, -slope·|i - j|, as the reference.
    const ref = scope(() => {
      const split = (w: Tensor) => permute(linear(x, w).reshape([L, h, d / h]), [1, 0, 2]);
      return attentionWeights(split(p.wq), split(p.wk), { alibiSlopes: tensor(alibiSlopes(h)) });
    });
    expectAllClose(alibi.weights.data, ref.dataSync(), 'ALiBi weights');
    const rope = attentionLayer({
      x,
      memory: x,
      projections: p,
      numHeads: h,
      causal: false,
      positions: 'rope',
    });
    // RoPE leaves position 0 unrotated and turns the others: score(0, 0) stays, score(0, 1) moves.
    const none = attentionLayer({ x, memory: x, projections: p, numHeads: h, causal: false });
    expect(rope.scores.data[0]).toBeCloseTo(none.scores.data[0]!, 5);
    expect(Math.abs(rope.scores.data[1]! - none.scores.data[1]!)).toBeGreaterThan(1e-4);
    for (const t of [x, table, shifted, ref]) t.dispose();
    disposeProjections(p);
    expect(liveTensors()).toBe(before);
  });
});
