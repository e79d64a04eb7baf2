// `permute` on the wasm device (a strided copy that merges contiguous axes) against the
// reference kernel: every permutation of small ranks, axes of size 1, and non-float dtypes.
import { expectExact } from '@qkv/conformance';
import { cpu, type DType, fromTypedArray, permute, rand, type Shape, tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice } from './index.js';
import { checkBuffers } from './test-support.js';

const device = await createWasmDevice();

/** Every permutation of 0 .. n - 1. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

describe('wasm permute', () => {
  checkBuffers(device);

  async function compare(shape: Shape, perm: number[], dtype: DType = 'float32') {
    const size = shape.reduce((a, d) => a * d, 1);
    const values = Array.from({ length: size }, (_, i) => (i * 37) % 101);
    const ref =
      dtype === 'float32'
        ? rand(shape, { device: cpu(), seed: shape.length * 31 + (perm[0] ?? 0) })
        : dtype === 'bool'
          ? tensor(
              values.map((x) => x % 3 === 0),
              shape,
              { dtype, device: cpu() },
            )
          : tensor(values, shape, { dtype, device: cpu() });
    const ours = fromTypedArray(ref.dataSync(), shape, dtype, device);
    const expected = permute(ref, perm);
    const actual = permute(ours, perm);
    expect(actual.shape).toEqual(expected.shape);
    expect(actual.dtype).toBe(dtype);
    expectExact(await actual.data(), await expected.data(), `${shape} by ${perm}`);
    for (const t of [ref, ours, expected, actual]) t.dispose();
  }

  it.each([[[7]], [[3, 5]], [[2, 3, 4]], [[2, 1, 3, 5]], [[3, 2, 5, 4]], [[2, 3, 1, 2, 3]]])(
    '%j: every permutation',
    async (shape) => {
      for (const perm of permutations(shape.length)) await compare(shape, perm);
    },
  );

  it('the head split and merge of a transformer layer', async () => {
    await compare([16, 64, 4, 16], [0, 2, 1, 3]);
    await compare([16, 4, 64, 16], [0, 2, 1, 3]);
  });

  it('int32 and bool, and a scalar', async () => {
    await compare([3, 4, 5], [2, 0, 1], 'int32');
    await compare([3, 4, 5], [1, 2, 0], 'bool');
    await compare([], []);
  });
});
