import { cpu, fromTypedArray, matmul, softmax } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, normalData } from '../suites/common.js';
import { loadOrtPeer } from './onnxruntime.js';

/**
 * The hand-written ONNX encoder is checked by running its graphs in onnxruntime-node and
 * comparing with qkv's CPU reference on odd shapes.
 */
describe('single-node ONNX models in onnxruntime-node', async () => {
  const notes: string[] = [];
  const ort = await loadOrtPeer((m) => notes.push(m));

  it('loads onnxruntime-node (installed without its install script)', () => {
    expect(notes).toEqual([]);
    expect(ort?.version).toMatch(/^\d+\.\d+/);
  });

  it('MatMul with broadcast batch matches qkv matmul', async () => {
    const [aData, bData] = [normalData(3 * 5 * 7, 1), normalData(7 * 4, 2)];
    const graph = await ort!.graph(
      {
        opType: 'MatMul',
        inputs: [
          { name: 'a', shape: [3, 5, 7] },
          { name: 'b', shape: [7, 4] },
        ],
        outputs: [{ name: 'y', shape: [3, 5, 4] }],
      },
      [aData, bData],
    );
    const a = fromTypedArray(aData, [3, 5, 7], 'float32', cpu());
    const b = fromTypedArray(bData, [7, 4], 'float32', cpu());
    const ref = matmul(a, b);
    assertClose('matmul', await graph.run(), ref.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    for (const t of [a, b, ref]) t.dispose();
    await graph.release();
  });

  it('Softmax over a chosen axis matches qkv softmax, and a mismatch is reported', async () => {
    const data = normalData(2 * 3 * 9, 3);
    const graph = await ort!.graph(
      {
        opType: 'Softmax',
        inputs: [{ name: 'x', shape: [2, 3, 9] }],
        outputs: [{ name: 'y', shape: [2, 3, 9] }],
        intAttrs: { axis: 1 },
      },
      [data],
    );
    const x = fromTypedArray(data, [2, 3, 9], 'float32', cpu());
    const ref = softmax(x, 1);
    const out = await graph.run();
    assertClose('softmax', out, ref.dataSync(), { atol: 1e-6, rtol: 1e-5 });
    // Softmax over the last axis instead gives different numbers: the axis attribute is read.
    const last = softmax(x, -1);
    expect(() => assertClose('softmax', out, last.dataSync(), { atol: 1e-6, rtol: 1e-5 })).toThrow(
      /disagree at element/,
    );
    for (const t of [x, ref, last]) t.dispose();
    await graph.release();
  });
});
