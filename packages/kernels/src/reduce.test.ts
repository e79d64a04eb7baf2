import {
  layerNorm,
  logSoftmax,
  REDUCE_OPS,
  reduce,
  rmsNorm,
  softmax,
  type Tensor,
} from '@qkv/tensor';
import { expect } from 'vitest';
import type { WebGPUDevice } from './runtime/webgpu-device.js';
import { compareWithCpu, cpuRandn, cpuTensor } from './testing/compare.js';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

// f32 sums accumulate in f32 on the GPU, float64 on the CPU.
const SUM_TOLERANCE = { atol: 1e-5, rtol: 1e-5 };

for (const name of REDUCE_OPS) {
  gpu.test(`${name} over every axis of float32 / float16 matches the CPU`, async (device) => {
    for (const dtype of ['float32', 'float16'] as const) {
      // The middle axis (130) is longer than a workgroup (64 invocations).
      const x = cpuRandn([3, 130, 5], dtype);
      for (const axis of [0, 1, 2, -1]) {
        for (const keepDim of [false, true]) {
          await compareWithCpu(
            device,
            [x],
            ([t]) => reduce(name, t!, axis, keepDim),
            dtype === 'float32' ? SUM_TOLERANCE : undefined,
            `${name} ${dtype} axis ${axis}`,
          );
        }
      }
      await compareWithCpu(
        device,
        [x],
        ([t]) => reduce(name, t!),
        dtype === 'float32' ? SUM_TOLERANCE : { atol: 2e-2, rtol: 2e-3 },
        `${name} ${dtype} all`,
      );
      x.dispose();
    }
  });
}

gpu.test('integer reductions match the CPU exactly', async (device) => {
  const values = Array.from({ length: 3 * 70 }, (_, i) => ((i * 7919) % 201) - 100);
  for (const dtype of ['int32', 'uint32'] as const) {
    const x = cpuTensor(dtype === 'int32' ? values : values.map(Math.abs), [3, 70], dtype);
    for (const name of ['sum', 'max', 'min', 'argmax'] as const) {
      for (const axis of [0, 1]) {
        await compareWithCpu(
          device,
          [x],
          ([t]) => reduce(name, t!, axis),
          { atol: 0 },
          `${name} ${dtype} axis ${axis}`,
        );
      }
    }
    x.dispose();
  }
});

/** Every reduction over axis 1 of `x`, against the CPU. */
async function compareLastAxisReductions(device: WebGPUDevice, x: Tensor, label: string) {
  for (const name of REDUCE_OPS) {
    await compareWithCpu(
      device,
      [x],
      ([t]) => reduce(name, t!, 1),
      SUM_TOLERANCE,
      `${name} ${label}`,
    );
  }
}

gpu.test('NaN, ties and empty axes follow the CPU rules', async (device) => {
  const nan = Number.NaN;
  const x = cpuTensor([1, nan, 3, 2, nan, 5, 4, 4, 1, 4, -1, 4], [3, 4]);
  await compareLastAxisReductions(device, x, 'with NaN');
  const inf = cpuTensor(
    [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 1],
    [2, 2],
  );
  await compareWithCpu(
    device,
    [inf],
    ([t]) => reduce('logsumexp', t!, 1),
    SUM_TOLERANCE,
    'logsumexp of infinities',
  );
  const empty = cpuRandn([3, 0, 2]);
  for (const name of ['sum', 'mean', 'logsumexp'] as const) {
    await compareWithCpu(
      device,
      [empty],
      ([t]) => reduce(name, t!, 1),
      SUM_TOLERANCE,
      `${name} over an empty axis`,
    );
  }
  for (const t of [x, inf, empty]) t.dispose();
});

gpu.test('softmax and logSoftmax over every axis match the CPU', async (device) => {
  for (const dtype of ['float32', 'float16'] as const) {
    // Rows of 3 and 77 take the invocation-per-row layout, rows of 150 the workgroup one.
    const x = cpuRandn([2, 3, 77], dtype, 3);
    const long = cpuRandn([3, 150], dtype, 3);
    await compareWithCpu(
      device,
      [long],
      ([t]) => softmax(t!),
      undefined,
      `softmax ${dtype} long rows`,
    );
    await compareWithCpu(
      device,
      [long],
      ([t]) => logSoftmax(t!),
      { atol: 1e-5, rtol: 1e-5 + 2e-3 * Number(dtype === 'float16') },
      `logSoftmax ${dtype} long rows`,
    );
    long.dispose();
    for (const axis of [0, 1, 2]) {
      await compareWithCpu(
        device,
        [x],
        ([t]) => softmax(t!, axis),
        undefined,
        `softmax ${dtype} axis ${axis}`,
      );
      await compareWithCpu(
        device,
        [x],
        ([t]) => logSoftmax(t!, axis),
        { atol: 1e-5, rtol: 1e-5 + 2e-3 * Number(dtype === 'float16') },
        `logSoftmax ${dtype} axis ${axis}`,
      );
    }
    x.dispose();
  }
});

gpu.test('softmax of a fully masked row is zeros, logSoftmax -inf', async (device) => {
  const ninf = Number.NEGATIVE_INFINITY;
  const x = cpuTensor([ninf, ninf, ninf, 0, ninf, 1], [2, 3]);
  await compareWithCpu(device, [x], ([t]) => softmax(t!), undefined, 'softmax masked');
  await compareWithCpu(device, [x], ([t]) => logSoftmax(t!), undefined, 'logSoftmax masked');
  const wide = cpuTensor([...new Array(200).fill(ninf), ...new Array(200).fill(0.5)], [2, 200]);
  await compareWithCpu(device, [wide], ([t]) => softmax(t!), undefined, 'softmax masked long row');
  wide.dispose();
  const scalar = cpuTensor([2.5], []);
  await compareWithCpu(device, [scalar], ([t]) => softmax(t!, 0), undefined, 'softmax 0-d');
  x.dispose();
  scalar.dispose();
});

gpu.test('layerNorm and rmsNorm match the CPU', async (device) => {
  for (const dtype of ['float32', 'float16'] as const) {
    const x = cpuRandn([3, 5, 67], dtype, 2);
    const weight = cpuRandn([67], dtype);
    const bias = cpuRandn([67], dtype);
    const weight2 = cpuRandn([5, 67], dtype);
    const tol = dtype === 'float32' ? { atol: 1e-5, rtol: 1e-5 } : { atol: 4e-3, rtol: 4e-3 };
    await compareWithCpu(device, [x], ([t]) => layerNorm(t!), tol, `layerNorm ${dtype}`);
    await compareWithCpu(
      device,
      [x, weight, bias],
      ([t, w, b]) => layerNorm(t!, { weight: w!, bias: b! }),
      tol,
      `layerNorm affine ${dtype}`,
    );
    await compareWithCpu(
      device,
      [x, bias],
      ([t, b]) => layerNorm(t!, { bias: b!, eps: 0.1 }),
      tol,
      `layerNorm bias ${dtype}`,
    );
    await compareWithCpu(
      device,
      [x, weight2],
      ([t, w]) => layerNorm(t!, { weight: w!, normalizedDims: 2 }),
      tol,
      `layerNorm 2 dims ${dtype}`,
    );
    await compareWithCpu(device, [x], ([t]) => rmsNorm(t!), tol, `rmsNorm ${dtype}`);
    await compareWithCpu(
      device,
      [x, weight],
      ([t, w]) => rmsNorm(t!, { weight: w! }),
      tol,
      `rmsNorm weight ${dtype}`,
    );
    for (const t of [x, weight, bias, weight2]) t.dispose();
  }
  const constant = cpuTensor([2, 2, 2, 2], [1, 4]);
  await compareWithCpu(
    device,
    [constant],
    ([t]) => layerNorm(t!),
    undefined,
    'layerNorm constant row',
  );
  constant.dispose();
});

// The same long-row kernels without subgroup operations (the workgroup-memory tree), which
// devices lacking the `subgroups` feature run.
const plain = await gpuFixture({ poison: true, optionalFeatures: false });

plain.test('long-row reductions, softmax and norms without subgroups', async (device) => {
  expect(device.subgroupReductions).toBe(false);
  const x = cpuRandn([3, 300], 'float32', 3);
  await compareLastAxisReductions(device, x, 'no subgroups');
  await compareWithCpu(device, [x], ([t]) => softmax(t!), undefined, 'softmax no subgroups');
  await compareWithCpu(device, [x], ([t]) => layerNorm(t!), undefined, 'layerNorm no subgroups');
  x.dispose();
});
