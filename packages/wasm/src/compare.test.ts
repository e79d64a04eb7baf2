// Comparisons and `where` on the wasm device (rows x cols loops in JavaScript) against the
// reference kernels, over the broadcasts they take and one they leave to the reference.
import { expectExact } from '@qkv/conformance';
import {
  binary,
  COMPARISONS,
  cpu,
  type DType,
  type Shape,
  type Tensor,
  tensor,
  where,
} from '@qkv/tensor';
import { describe, it } from 'vitest';
import { createWasmDevice } from './index.js';
import { checkBuffers, mirrors } from './test-support.js';

const device = await createWasmDevice();

describe('wasm comparisons and where', () => {
  const { mirror } = mirrors(device);
  checkBuffers(device);

  /** Values with repeats (so `equal` is sometimes true), NaN among the floats. */
  function values(shape: Shape, dtype: DType, seed: number): [Tensor, Tensor] {
    const size = shape.reduce((a, d) => a * d, 1);
    const data = Array.from({ length: size }, (_, i) => ((i + seed) * 7) % 5);
    if (dtype === 'bool')
      return mirror(
        tensor(
          data.map((x) => x > 2),
          shape,
          { dtype, device: cpu() },
        ),
      );
    if (dtype === 'float32' && size > 3) data[3] = Number.NaN;
    return mirror(tensor(data, shape, { dtype, device: cpu() }));
  }

  async function compare(run: (side: 0 | 1) => Tensor, inputs: [Tensor, Tensor][], label: string) {
    const [expected, actual] = [run(0), run(1)];
    expectExact(await actual.data(), await expected.data(), label);
    for (const t of [expected, actual, ...inputs.flat()]) t.dispose();
  }

  const shapes: [string, Shape, Shape][] = [
    ['same shapes', [3, 4, 5], [3, 4, 5]],
    ['a scalar', [6, 7], []],
    ['a trailing dimension', [5, 6], [6]],
    ['a column', [5, 6], [5, 1]],
    ['a column against a row (one-hot)', [9, 1], [1, 7]],
    ['a broadcast the reference takes', [2, 1, 3], [1, 4, 1]],
  ];
  it.each(shapes)(
    '%s: every comparison on float32, int32 and bool',
    async (_name, aShape, bShape) => {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        for (const op of COMPARISONS) {
          const a = values(aShape, dtype, 1);
          const b = values(bShape, dtype, 2);
          await compare((side) => binary(op, a[side], b[side]), [a, b], `${op} ${dtype}`);
        }
      }
    },
  );

  it.each(shapes)('%s: where on float32 and int32', async (_name, aShape, bShape) => {
    for (const dtype of ['float32', 'int32'] as const) {
      const condition = values(aShape, 'bool', 3);
      const a = values(aShape, dtype, 4);
      const b = values(bShape, dtype, 5);
      await compare(
        (side) => where(condition[side], a[side], b[side]),
        [condition, a, b],
        `where ${dtype}`,
      );
    }
  });
});
