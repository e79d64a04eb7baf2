// crossEntropy's gradient on the wasm device (the native softmax rows, then dy and the target
// in JavaScript) against the reference kernel: ignored rows, rows of -inf, NaN and large
// logits, widths that are not multiples of the SIMD width, and the reference's errors.
import { expectClose } from '@qkv/conformance';
import {
  CrossEntropyBackwardOp,
  cpu,
  crossEntropy,
  runOp,
  type Tensor,
  tensor,
  valueAndGrads,
} from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice } from './index.js';
import { checkBuffers, mirrors } from './test-support.js';

const device = await createWasmDevice();

describe('wasm crossEntropy gradient', () => {
  const { mirror, pair } = mirrors(device);
  checkBuffers(device);

  /** Loss per row and dLogits on both devices, compared. */
  async function compare(logits: [Tensor, Tensor], ids: number[], ignoreIndex = -100) {
    const [rows, classes] = logits[0].shape as [number, number];
    const targets = mirror(tensor(ids, [rows], { dtype: 'int32', device: cpu() }));
    const dy = pair([rows], 0.5, 2);
    const [expected, actual] = ([0, 1] as const).map((side) =>
      valueAndGrads((x) => crossEntropy(x!, targets[side], { reduction: 'none', ignoreIndex }))(
        [logits[side]],
        dy[side],
      ),
    );
    expect(actual!.grads[0]!.shape).toEqual([rows, classes]);
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose(await actual!.value.data(), await expected!.value.data(), tol, 'loss');
    expectClose(await actual!.grads[0]!.data(), await expected!.grads[0]!.data(), tol, 'grad');
    for (const r of [expected!, actual!]) for (const t of [r.value, ...r.grads]) t.dispose();
    for (const t of [logits, targets, dy].flat()) t.dispose();
  }

  it.each([
    [1, 1],
    [37, 13],
    [20, 32],
    [5, 300],
  ])('%i rows of %i classes, every third target ignored', async (rows, classes) => {
    const ids = Array.from({ length: rows }, (_, i) => (i % 3 === 2 ? -100 : (i * 7) % classes));
    await compare(pair([rows, classes], -4, 4), ids);
  });

  it('rows of -inf, NaN and large logits, and a custom ignoreIndex', async () => {
    const classes = 9;
    const values = Array.from({ length: 5 * classes }, (_, i) => Math.sin(i) * 3);
    for (let c = 0; c < classes; c++) values[c] = Number.NEGATIVE_INFINITY; // row 0
    values[classes + 4] = Number.NaN; // row 1
    for (let c = 0; c < classes; c++) values[2 * classes + c] = 1e30 * (c + 1); // row 2
    values[3 * classes + 2] = Number.NEGATIVE_INFINITY; // row 3: one key masked out
    const logits = mirror(tensor(values, [5, classes], { device: cpu() }));
    await compare(logits, [1, 2, 3, 4, 7], 7);
  });

  it('an out-of-range target is the reference kernel’s named error', async () => {
    const logits = pair([3, 4]);
    const targets = mirror(tensor([0, 9, 1], [3], { dtype: 'int32', device: cpu() }));
    const dy = pair([3]);
    for (const side of [0, 1] as const) {
      const inputs = [logits[side], targets[side], dy[side]];
      expect(() => runOp(CrossEntropyBackwardOp, inputs, { ignoreIndex: -100 })).toThrow(
        /targets\[1\] \(flat\) is 9/,
      );
    }
    for (const t of [logits, targets, dy].flat()) t.dispose();
  });
});
