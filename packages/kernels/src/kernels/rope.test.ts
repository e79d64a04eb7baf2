import { type RopeOptions, rope, tensor } from '@qkv/tensor';
import { compareWithCpu, type Tolerance } from '../testing/compare.js';
import { gpuFixture } from '../testing/gpu-fixture.js';
import { type Operand, randomOperand } from '../testing/random-operand.js';

const gpu = await gpuFixture();

/** rope on the GPU against the CPU reference (inverse frequencies as 10000^(-2i/d)). */
async function check(
  x: Operand,
  positions: Operand,
  options: RopeOptions,
  tol: Tolerance,
  seed: number,
) {
  const dim = x.shape[x.shape.length - 1]!;
  const rotary = options.rotaryDim ?? dim;
  const invFreq = Array.from({ length: rotary / 2 }, (_, i) => 10000 ** ((-2 * i) / rotary));
  const inputs = [randomOperand(x, seed), randomOperand(positions, seed + 1)];
  await compareWithCpu(
    gpu.device!,
    inputs,
    ([xs, ids]) => {
      const freqs = tensor(invFreq, [invFreq.length], { device: xs!.device });
      try {
        return rope(xs!, ids!, freqs, options);
      } finally {
        freqs.dispose();
      }
    },
    tol,
  );
  for (const t of inputs) t.dispose();
}

const F32 = { atol: 3e-6, rtol: 3e-5 };

gpu.test('half and interleaved, full and partial rotary dim, shared positions', async () => {
  const positions: Operand = { shape: [5], dtype: 'int32', kind: 'int', low: 0, high: 4096 };
  for (const style of ['half', 'interleaved'] as const) {
    await check({ shape: [2, 3, 5, 8] }, positions, { style }, F32, 1);
    await check({ shape: [2, 3, 5, 10] }, positions, { style, rotaryDim: 6 }, F32, 2);
  }
});

gpu.test('per-batch and negative positions, scaling, float16', async () => {
  const ids: Operand = { shape: [2, 7], dtype: 'int32', kind: 'int', low: -3000, high: 20000 };
  await check({ shape: [2, 3, 7, 12] }, ids, { attentionScaling: 1.3 }, F32, 3);
  await check(
    { shape: [2, 7, 6], dtype: 'float16' },
    ids,
    { style: 'interleaved', rotaryDim: 4 },
    { atol: 2e-3, rtol: 2e-3 },
    4,
  );
});
