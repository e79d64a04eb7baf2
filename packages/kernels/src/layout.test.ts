import { cast, concat, DTYPES, gather, permute, slice, tensor, transpose } from '@qkv/tensor';
import { expect } from 'vitest';
import { compareWithCpu, cpuRandn, cpuTensor } from './testing/compare.js';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();
const EXACT = { atol: 0 };

gpu.test('permute and transpose copy like the CPU for every dtype', async (device) => {
  for (const dtype of ['float32', 'float16'] as const) {
    const x = cpuRandn([2, 3, 5, 7], dtype);
    for (const perm of [
      [3, 1, 0, 2],
      [0, 2, 1, 3],
      [3, 2, 1, 0],
    ]) {
      await compareWithCpu(
        device,
        [x],
        ([t]) => permute(t!, perm),
        EXACT,
        `permute ${perm} ${dtype}`,
      );
    }
    await compareWithCpu(device, [x], ([t]) => transpose(t!), EXACT, `transpose ${dtype}`);
    x.dispose();
  }
  const ints = cpuTensor([1, -2, 3, -4, 5, -6], [2, 3], 'int32');
  const bools = cpuTensor([1, 0, 0, 1, 1, 0], [3, 2], 'bool');
  await compareWithCpu(device, [ints], ([t]) => transpose(t!), EXACT, 'transpose int32');
  await compareWithCpu(device, [bools], ([t]) => transpose(t!), EXACT, 'transpose bool');
  ints.dispose();
  bools.dispose();
});

gpu.test('slice with starts, steps and negative bounds', async (device) => {
  for (const dtype of ['float32', 'float16'] as const) {
    const x = cpuRandn([5, 9, 4], dtype);
    await compareWithCpu(
      device,
      [x],
      ([t]) =>
        slice(t!, [
          [1, 4],
          [0, 9, 2],
          [-3, -1],
        ]),
      EXACT,
      `slice ${dtype}`,
    );
    await compareWithCpu(
      device,
      [x],
      ([t]) => slice(t!, [null, [7, 100, 3]]),
      EXACT,
      `slice tail ${dtype}`,
    );
    await compareWithCpu(device, [x], ([t]) => slice(t!, [[2, 2]]), EXACT, `empty slice ${dtype}`);
    x.dispose();
  }
});

gpu.test('concat along each axis, many inputs, odd float16 sizes', async (device) => {
  const parts = [3, 1, 4, 1, 5, 2, 6].map((n) => cpuRandn([2, n, 3], 'float16'));
  await compareWithCpu(device, parts, (ts) => concat(ts, 1), EXACT, 'concat 7 float16 parts');
  const rows = [cpuRandn([1, 5]), cpuRandn([0, 5]), cpuRandn([2, 5])];
  await compareWithCpu(
    device,
    rows,
    (ts) => concat(ts, 0),
    EXACT,
    'concat axis 0 with an empty part',
  );
  const ints = [cpuTensor([1, 2], [2, 1], 'int32'), cpuTensor([3, 4, 5, 6], [2, 2], 'int32')];
  await compareWithCpu(device, ints, (ts) => concat(ts, -1), EXACT, 'concat int32 last axis');
  for (const t of [...parts, ...rows, ...ints]) t.dispose();
});

gpu.test('gather with negative indices, any index shape, every axis', async (device) => {
  const x = cpuRandn([4, 6, 3]);
  const idx = cpuTensor([0, -1, 2, 3, 1, -4], [2, 3], 'int32');
  const uidx = cpuTensor([5, 0, 2], [3], 'uint32');
  await compareWithCpu(device, [x, idx], ([t, i]) => gather(t!, i!, 0), EXACT, 'gather axis 0');
  const small = cpuTensor([2, -3, 0, 1], [4], 'int32');
  await compareWithCpu(device, [x, small], ([t, i]) => gather(t!, i!, 2), EXACT, 'gather axis 2');
  await compareWithCpu(device, [x, uidx], ([t, i]) => gather(t!, i!, 1), EXACT, 'gather uint32');
  const half = cpuRandn([5, 3], 'float16');
  await compareWithCpu(
    device,
    [half, small],
    ([t, i]) => gather(t!, i!, 1),
    EXACT,
    'gather float16',
  );
  for (const t of [x, idx, uidx, small, half]) t.dispose();
});

gpu.test('gather writes zeros for out-of-range indices', async (device) => {
  const x = tensor([1, 2, 3, 4, 5, 6], [3, 2], { device });
  const idx = tensor([2, 3, -4, -3], [4], { dtype: 'int32', device });
  const out = gather(x, idx);
  expect(Array.from(await out.data())).toEqual([5, 6, 0, 0, 0, 0, 1, 2]);
  for (const t of [x, idx, out]) t.dispose();
});

gpu.test('cast between every pair of dtypes follows the CPU rules', async (device) => {
  const values = [0, 1, -1, 2.75, -2.75, 65504, 3e9, -3e9, 5e9, Number.NaN, 0.1];
  const sources = {
    float32: cpuTensor(values, [values.length], 'float32'),
    float16: cpuTensor(
      values.map((v) => (Math.abs(v) > 65504 ? 7.5 : v)),
      [values.length],
      'float16',
    ),
    int32: cpuTensor([0, 1, -1, 7, -2147483648, 2147483647, 12, -5, 3, 0, 9], [11], 'int32'),
    uint32: cpuTensor(
      [0, 1, 4294967295, 7, 2147483648, 2147483647, 12, 5, 3, 0, 9],
      [11],
      'uint32',
    ),
    bool: cpuTensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1], [11], 'bool'),
  };
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      await compareWithCpu(
        device,
        [sources[from]],
        ([t]) => cast(t!, to),
        EXACT,
        `cast ${from} -> ${to}`,
      );
    }
  }
  for (const t of Object.values(sources)) t.dispose();
});
