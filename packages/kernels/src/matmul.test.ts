import { linear, matmul } from '@qkv/tensor';
import { compareWithCpu, cpuRandn } from './testing/compare.js';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

// K-long f32 dot products: the GPU accumulates in f32, the CPU in float64.
const TOLERANCE = { atol: 1e-4, rtol: 1e-4 };

/** [M, K, N]: skinny and small (simple kernel), and tiled ones with ragged edges. */
const SHAPES: [number, number, number][] = [
  [1, 37, 23],
  [5, 3, 7],
  [1, 1, 1],
  [33, 19, 45],
  [130, 67, 133],
  [64, 128, 32],
  // Some extents multiples of 4 and some not: vec4 staging for one operand, scalar for the other.
  [36, 20, 45],
  [129, 12, 68],
  // 128 x 128 tiles from 256 x 256 up.
  [260, 5, 257],
];

for (const [m, k, n] of SHAPES) {
  gpu.test(`matmul ${m}x${k} by ${k}x${n} in every transpose variant`, async (device) => {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const a = cpuRandn(transposeA ? [k, m] : [m, k]);
        const b = cpuRandn(transposeB ? [n, k] : [k, n]);
        await compareWithCpu(
          device,
          [a, b],
          ([x, y]) => matmul(x!, y!, { transposeA, transposeB }),
          TOLERANCE,
          `tA ${transposeA} tB ${transposeB}`,
        );
        a.dispose();
        b.dispose();
      }
    }
  });
}

gpu.test(
  'skinny products with a long K split each dot product across a workgroup',
  async (device) => {
    // Decoding through linear: x [1, K] by a weight [N, K] read transposed; also M = 3, N = 1.
    for (const [m, k, n, transposeA, transposeB] of [
      [1, 300, 37, false, true],
      [3, 260, 5, false, true],
      [2, 513, 1, false, false],
      [1, 300, 7, true, true],
    ] as const) {
      const a = cpuRandn([2, ...(transposeA ? [k, m] : [m, k])]);
      const b = cpuRandn(transposeB ? [n, k] : [k, n], 'float32');
      await compareWithCpu(
        device,
        [a, b],
        ([x, y]) => matmul(x!, y!, { transposeA, transposeB }),
        TOLERANCE,
        `dot rows ${m}x${k}x${n}`,
      );
      a.dispose();
      b.dispose();
    }
    const h = cpuRandn([1, 400], 'float16');
    const w = cpuRandn([9, 400], 'float16');
    await compareWithCpu(
      device,
      [h, w],
      ([x, y]) => matmul(x!, y!, { transposeB: true }),
      { atol: 2e-2, rtol: 4e-3 },
      'dot rows float16',
    );
    h.dispose();
    w.dispose();
  },
);

gpu.test('batched matmul broadcasts batch dimensions', async (device) => {
  for (const [m, k, n] of [
    [3, 5, 4],
    [40, 9, 36],
  ]) {
    const a = cpuRandn([2, 1, m!, k!]);
    const b = cpuRandn([3, n!, k!]);
    await compareWithCpu(
      device,
      [a, b],
      ([x, y]) => matmul(x!, y!, { transposeB: true }),
      TOLERANCE,
      `batched ${m}x${k}x${n}`,
    );
    a.dispose();
    b.dispose();
  }
});

gpu.test('vectors, float16, empty K and linear match the CPU', async (device) => {
  const v = cpuRandn([9]);
  const w = cpuRandn([9, 4]);
  await compareWithCpu(device, [v, w], ([x, y]) => matmul(x!, y!), TOLERANCE, 'vector @ matrix');
  const u = cpuRandn([4]);
  await compareWithCpu(device, [w, u], ([x, y]) => matmul(x!, y!), TOLERANCE, 'matrix @ vector');
  for (const [m, k, n] of [
    [3, 17, 5],
    [35, 17, 41],
  ]) {
    const a = cpuRandn([m!, k!], 'float16');
    const b = cpuRandn([k!, n!], 'float16');
    await compareWithCpu(
      device,
      [a, b],
      ([x, y]) => matmul(x!, y!),
      { atol: 1e-2, rtol: 4e-3 },
      `float16 ${m}x${k}x${n}`,
    );
    a.dispose();
    b.dispose();
  }
  const e1 = cpuRandn([3, 0]);
  const e2 = cpuRandn([0, 4]);
  await compareWithCpu(device, [e1, e2], ([x, y]) => matmul(x!, y!), { atol: 0 }, 'empty K');
  const x = cpuRandn([2, 3, 8]);
  const weight = cpuRandn([6, 8]);
  const bias = cpuRandn([6]);
  await compareWithCpu(
    device,
    [x, weight, bias],
    ([t, wt, b]) => linear(t!, wt!, b!),
    TOLERANCE,
    'linear',
  );
  for (const t of [v, w, u, e1, e2, x, weight, bias]) t.dispose();
});
