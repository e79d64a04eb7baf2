import { add, missingKernels, tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

gpu.test('uploads and reads back every dtype', async (device) => {
  expect(device.backend).toBe('webgpu');
  const cases = [
    tensor([1.5, -2, 3.25], [3], { device }),
    tensor([1, -2, 2147483647], [3], { dtype: 'int32', device }),
    tensor([0, 7, 4294967295], [3], { dtype: 'uint32', device }),
    tensor([true, false, true], [3], { device }),
    tensor([0.5, -1.25, 65504, 1e-3, 3], [5], { dtype: 'float16', device }),
  ];
  const expected = [
    [1.5, -2, 3.25],
    [1, -2, 2147483647],
    [0, 7, 4294967295],
    [1, 0, 1],
  ];
  for (const [i, t] of cases.entries()) {
    const data = Array.from(await t.data());
    if (i < 4) expect(data).toEqual(expected[i]);
    else {
      expect(data.slice(0, 3)).toEqual([0.5, -1.25, 65504]);
      expect(data[3]).toBeCloseTo(1e-3, 6);
    }
    t.dispose();
  }
  // Every op has a WebGPU kernel; a new op without one fails here.
  expect(missingKernels('webgpu')).toEqual([]);
});

gpu.test('adds on the GPU', async (device) => {
  const a = tensor([1, 2, 3], [3], { device });
  const b = tensor([10, 20, 30], [3], { device });
  const c = add(a, b);
  expect(Array.from(await c.data())).toEqual([11, 22, 33]);
  for (const t of [a, b, c]) t.dispose();
});
