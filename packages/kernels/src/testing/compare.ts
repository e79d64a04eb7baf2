import { cpu, type DType, randn, type Shape, type Tensor, tensor, toDevice } from '@qkv/tensor';
import { expect } from 'vitest';
import type { WebGPUDevice } from '../runtime/webgpu-device.js';

export interface Tolerance {
  readonly atol?: number;
  readonly rtol?: number;
}

/** Default tolerances: f32 near 1e-5 relative; float16 results are rounded to 2^-11. */
export function toleranceFor(dtype: DType): Required<Tolerance> {
  return dtype === 'float16' ? { atol: 2e-3, rtol: 2e-3 } : { atol: 1e-5, rtol: 1e-5 };
}

/**
 * Assert `|actual - expected| <= atol + rtol * |expected|` elementwise (NaN matches NaN,
 * infinities must be equal), reporting a table of the first mismatches.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  label = '',
): void {
  const { atol = 0, rtol = 0 } = tolerance;
  expect(actual.length, `${label} length`).toBe(expected.length);
  const rows: string[] = [];
  let failures = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok =
      Number.isNaN(e) || Number.isNaN(a)
        ? Number.isNaN(e) && Number.isNaN(a)
        : !Number.isFinite(e) || !Number.isFinite(a)
          ? a === e
          : Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok && failures++ < 8) rows.push(`  [${i}] actual ${a}  expected ${e}  diff ${a - e}`);
  }
  if (failures > 0) {
    throw new Error(
      `${label}: ${failures} of ${expected.length} elements differ (atol ${atol}, rtol ${rtol})\n${rows.join('\n')}`,
    );
  }
}

let seed = 1234;
/** A fresh seeded normal tensor on the CPU (a new seed every call, reproducible per run). */
export function cpuRandn(shape: Shape, dtype: DType = 'float32', scale = 1): Tensor {
  return randn(shape, { dtype: dtype as 'float32', seed: seed++, std: scale, device: cpu() });
}

/** A CPU tensor from plain values. */
export function cpuTensor(
  values: readonly number[],
  shape: Shape,
  dtype: DType = 'float32',
): Tensor {
  return tensor(values, shape, { dtype, device: cpu() });
}

/**
 * Run `op` on CPU inputs and on copies of them on `device`, and compare the results (shape,
 * dtype and values). Every tensor made here is disposed.
 */
export async function compareWithCpu(
  device: WebGPUDevice,
  inputs: readonly Tensor[],
  op: (xs: Tensor[]) => Tensor,
  tolerance?: Tolerance,
  label = 'op',
): Promise<void> {
  const gpuInputs = await Promise.all(inputs.map((t) => toDevice(t, device)));
  const expected = op([...inputs]);
  const actual = op(gpuInputs);
  try {
    expect(actual.shape, `${label} shape`).toEqual(expected.shape);
    expect(actual.dtype, `${label} dtype`).toBe(expected.dtype);
    expectClose(
      await actual.data(),
      await expected.data(),
      tolerance ?? toleranceFor(expected.dtype),
      label,
    );
  } finally {
    for (const t of [...gpuInputs, expected, actual]) t.dispose();
  }
}
