import { softmax } from '@qkv/tensor';
import { loadOrtPeer } from '../peers/onnxruntime.js';
import type { Suite } from '../suite.js';
import { measureWithPeer, normalData, sizesFor, upload } from './common.js';

/** Softmax over the last axis of an n×n score matrix, the step between Q·Kᵀ and ·V. */
export const softmaxSuite: Suite = {
  name: 'softmax',
  description: 'float32 softmax over the last axis of an n×n score matrix',
  async run(ctx) {
    const ort = await loadOrtPeer(ctx.log);
    const sizes = sizesFor(ctx, {
      quick: [7, 65],
      small: [128, 256, 512, 1024, 2048],
      large: [512, 1024, 2048, 4096, 8192],
    });
    for (const [i, n] of sizes.entries()) {
      const shape = [n, n];
      // Scaled up so rows have a few large logits, as attention scores do.
      const data = normalData(n * n, 300 + i).map((v) => 4 * v);
      const x = upload(ctx, data, shape);
      try {
        await measureWithPeer(ctx, ort, {
          suite: 'softmax',
          params: { rows: n, cols: n, elements: n * n },
          // Read once and written once, float32. Plotted against the element count, which
          // is what the work grows with (rows and columns grow together).
          options: { bytes: 2 * 4 * n * n, x: 'elements', series: 'square' },
          qkv: () => softmax(x, -1),
          onnx: {
            node: {
              opType: 'Softmax',
              inputs: [{ name: 'x', shape }],
              outputs: [{ name: 'y', shape }],
              intAttrs: { axis: -1 },
            },
            inputs: [data],
          },
          tolerance: { atol: 1e-6, rtol: 1e-4 },
        });
      } finally {
        x.dispose();
      }
    }
  },
};
