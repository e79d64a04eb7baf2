import { attention, cpu, fromTypedArray } from '@qkv/tensor';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { singleNodeModel } from '../peers/onnx-model.js';
import { assertClose, normalData } from '../suites/common.js';
import { type PeerAttentionCase, peerNode, toPacked } from './webgpu-peers.js';

/**
 * The page's WebGPU peer graphs (com.microsoft contrib operators, int32 length inputs, an
 * omitted optional input) run here on onnxruntime-node's CPU backend against qkv's CPU
 * attention: the graphs and the layout change are right, so a disagreement in the page is
 * the WebGPU backend's.
 */
describe("the page's onnxruntime attention graphs", () => {
  it('reorders [1, H, N, D] to the packed [1, N, H·D]', () => {
    // Two heads, three positions, one value each: h0 = 0 1 2, h1 = 3 4 5.
    expect(Array.from(toPacked(Float32Array.of(0, 1, 2, 3, 4, 5), 2, 3, 1))).toEqual([
      0, 3, 1, 4, 2, 5,
    ]);
  });

  const cases: PeerAttentionCase[] = [
    { op: 'MultiHeadAttention', heads: 3, kvHeads: 3, headDim: 8, seqLen: 13 },
    { op: 'GroupQueryAttention', heads: 4, kvHeads: 2, headDim: 8, seqLen: 11 },
  ];
  for (const c of cases) {
    it(`${c.op} matches qkv attention (${c.heads} heads, ${c.kvHeads} key/value heads, N = ${c.seqLen})`, async () => {
      const { heads, kvHeads, headDim: d, seqLen: n } = c;
      const causal = c.op === 'GroupQueryAttention';
      const data = [heads, kvHeads, kvHeads].map((h, j) => normalData(h * n * d, 50 + j));
      const [q, k, v] = data.map((x, j) =>
        fromTypedArray(x, [1, j === 0 ? heads : kvHeads, n, d], 'float32', cpu()),
      );
      const ref = attention(q!, k!, v!, { isCausal: causal, enableGqa: kvHeads !== heads });
      const expected = toPacked(ref.dataSync() as Float32Array, heads, n, d);
      const node = peerNode(c);
      const session = await ort.InferenceSession.create(singleNodeModel(node));
      const feeds: Record<string, ort.Tensor> = {};
      ['query', 'key', 'value'].forEach((name, j) => {
        const h = j === 0 ? heads : kvHeads;
        feeds[name] = new ort.Tensor('float32', toPacked(data[j]!, h, n, d), node.inputs[j]!.shape);
      });
      if (causal) {
        feeds.seqlens_k = new ort.Tensor('int32', Int32Array.of(n - 1), [1]);
        feeds.total_sequence_length = new ort.Tensor('int32', Int32Array.of(n), []);
      }
      const out = (await session.run(feeds)).output!.data as Float32Array;
      assertClose(c.op, out, expected, { atol: 1e-5, rtol: 1e-4 });
      // Without the causal mask the numbers differ: GroupQueryAttention is causal.
      if (causal) {
        const full = attention(q!, k!, v!, { enableGqa: true });
        expect(() =>
          assertClose(c.op, out, toPacked(full.dataSync() as Float32Array, heads, n, d), {
            atol: 1e-5,
            rtol: 1e-4,
          }),
        ).toThrow(/disagree/);
        full.dispose();
      }
      for (const t of [q, k, v, ref]) t!.dispose();
      await session.release();
    });
  }
});
