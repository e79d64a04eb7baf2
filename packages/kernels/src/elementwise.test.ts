import {
  BINARY_OPS,
  binary,
  type DType,
  type Tensor,
  UNARY_OPS,
  type UnaryOpName,
  unary,
  where,
} from '@qkv/tensor';
import { compareWithCpu, cpuRandn, cpuTensor } from './testing/compare.js';
import { gpuFixture } from './testing/gpu-fixture.js';

const gpu = await gpuFixture();

/** Inputs inside each unary op's domain (log, sqrt, rsqrt need positive values). */
function unaryInput(name: UnaryOpName, shape: number[], dtype: DType): Tensor {
  const x = cpuRandn(shape, dtype, 2);
  if (name !== 'log' && name !== 'sqrt' && name !== 'rsqrt') return x;
  const positive = unary('abs', x);
  x.dispose();
  return positive;
}

for (const name of UNARY_OPS) {
  if (name === 'logicalNot') continue;
  gpu.test(`${name} float32 and float16 match the CPU`, async (device) => {
    for (const dtype of ['float32', 'float16'] as const) {
      const x = unaryInput(name, [3, 37], dtype);
      // WGSL's f32 exp / log / tanh are a few ulps off; the CPU computes in float64.
      const tolerance = dtype === 'float32' ? { atol: 2e-6, rtol: 2e-5 } : undefined;
      await compareWithCpu(device, [x], ([t]) => unary(name, t!), tolerance, `${name} ${dtype}`);
      x.dispose();
    }
  });
}

gpu.test('integer and bool unary ops match the CPU', async (device) => {
  const ints = cpuTensor([-5, 0, 7, -2147483647, 3], [5], 'int32');
  for (const name of ['neg', 'abs', 'relu'] as const) {
    await compareWithCpu(device, [ints], ([t]) => unary(name, t!), { atol: 0 }, name);
  }
  const bools = cpuTensor([1, 0, 0, 1, 1], [5], 'bool');
  await compareWithCpu(
    device,
    [bools],
    ([t]) => unary('logicalNot', t!),
    { atol: 0 },
    'logicalNot',
  );
  ints.dispose();
  bools.dispose();
});

gpu.test('unary ops keep NaN and saturate at infinities', async (device) => {
  const x = cpuTensor(
    [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 30, -30],
    [5],
  );
  for (const name of ['relu', 'tanh', 'sigmoid', 'silu', 'exp', 'sin', 'neg', 'abs'] as const) {
    await compareWithCpu(device, [x], ([t]) => unary(name, t!), { atol: 1e-6, rtol: 1e-5 }, name);
  }
  x.dispose();
});

const FLOAT_BINARY = BINARY_OPS.filter((n) => n !== 'logicalAnd' && n !== 'logicalOr');

for (const dtype of ['float32', 'float16'] as const) {
  gpu.test(`binary ops on ${dtype} broadcast like the CPU`, async (device) => {
    const a = cpuRandn([3, 1, 5], dtype);
    const b = cpuRandn([4, 1], dtype);
    for (const name of FLOAT_BINARY) {
      // pow of a negative base is NaN for fractional exponents; those cases are tested below.
      const positive = name === 'pow';
      const [x, y] = positive ? [unary('abs', a), b] : [a, b];
      await compareWithCpu(
        device,
        [x, y],
        ([p, q]) => binary(name, p!, q!),
        {
          atol: 2e-3 * Number(dtype === 'float16') + 1e-5,
          rtol: dtype === 'float16' ? 2e-3 : 2e-5,
        },
        `${name} ${dtype}`,
      );
      if (positive) x.dispose();
    }
    a.dispose();
    b.dispose();
  });
}

gpu.test('binary ops on int32, uint32 and bool match the CPU', async (device) => {
  const ints = cpuTensor([-7, 3, 2147483647, 0, 12, -1], [2, 3], 'int32');
  const other = cpuTensor([2, -3, 5], [3], 'int32');
  const uints = cpuTensor([7, 3, 4294967295, 0, 12, 1], [2, 3], 'uint32');
  const uother = cpuTensor([2, 3, 5], [3], 'uint32');
  const arithmetic = [
    'add',
    'sub',
    'mul',
    'maximum',
    'minimum',
    'equal',
    'notEqual',
    'less',
    'lessEqual',
    'greater',
    'greaterEqual',
  ] as const;
  for (const name of arithmetic) {
    await compareWithCpu(
      device,
      [ints, other],
      ([p, q]) => binary(name, p!, q!),
      { atol: 0 },
      `${name} int32`,
    );
    await compareWithCpu(
      device,
      [uints, uother],
      ([p, q]) => binary(name, p!, q!),
      { atol: 0 },
      `${name} uint32`,
    );
  }
  const p = cpuTensor([1, 0, 1, 0], [4], 'bool');
  const q = cpuTensor([1, 1, 0, 0], [4], 'bool');
  for (const name of [
    'logicalAnd',
    'logicalOr',
    'equal',
    'notEqual',
    'less',
    'greaterEqual',
  ] as const) {
    await compareWithCpu(
      device,
      [p, q],
      ([x, y]) => binary(name, x!, y!),
      { atol: 0 },
      `${name} bool`,
    );
  }
  for (const t of [ints, other, uints, uother, p, q]) t.dispose();
});

gpu.test(
  'pow, maximum, minimum and comparisons follow the CPU on NaN and special values',
  async (device) => {
    const a = cpuTensor([-2, -2, 0, 0, Number.NaN, 3, -8, 1, Number.NaN], [9]);
    const b = cpuTensor([3, 2, 0, -1, 1, Number.NaN, 0.5, Number.NaN, Number.NaN], [9]);
    for (const name of [
      'pow',
      'maximum',
      'minimum',
      'equal',
      'notEqual',
      'less',
      'greaterEqual',
    ] as const) {
      await compareWithCpu(
        device,
        [a, b],
        ([x, y]) => binary(name, x!, y!),
        { atol: 1e-5, rtol: 1e-5 },
        name,
      );
    }
    a.dispose();
    b.dispose();
  },
);

gpu.test('where broadcasts condition and operands', async (device) => {
  const c = cpuTensor([1, 0, 1, 1, 0, 0, 1], [7, 1], 'bool');
  const a = cpuRandn([1, 5]);
  const b = cpuRandn([7, 5]);
  await compareWithCpu(device, [c, a, b], ([x, y, z]) => where(x!, y!, z!), { atol: 0 }, 'where');
  const half = cpuRandn([7, 5], 'float16');
  await compareWithCpu(
    device,
    [c, half],
    ([x, y]) => where(x!, -1.5, y!),
    { atol: 0 },
    'where f16 scalar',
  );
  for (const t of [c, a, b, half]) t.dispose();
});
