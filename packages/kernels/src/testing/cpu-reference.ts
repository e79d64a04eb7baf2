import { cpu, type DType, debugFlags, Random, type Tensor, tensor } from '@qkv/tensor';
import { expect } from 'vitest';
import type { WebGPUDevice } from '../runtime/webgpu-device.js';

/** One seeded input, created on the CPU and on the GPU with the same values. */
export interface Operand {
  readonly shape: readonly number[];
  readonly dtype?: DType;
  /** `uniform` (default) in [-1, 1), `bool` with probability `density` of true, or ints. */
  readonly kind?: 'uniform' | 'bool' | 'int';
  readonly density?: number;
  readonly low?: number;
  readonly high?: number;
}

export function randomValues(op: Operand, seed: number): number[] | boolean[] {
  const rng = new Random(seed);
  const count = op.shape.reduce((p, d) => p * d, 1);
  const { low = -1, high = 1 } = op;
  if (op.kind === 'bool') {
    return Array.from({ length: count }, () => rng.nextFloat() < (op.density ?? 0.7));
  }
  return Array.from({ length: count }, () => {
    const v = low + (high - low) * rng.nextFloat();
    return op.kind === 'int' ? Math.floor(v) : v;
  });
}

/**
 * Run `f` on the CPU backend and on `device` with the same seeded inputs (GPU outputs
 * poisoned) and check `|gpu - cpu| <= atol + rtol * |cpu|` elementwise.
 */
export async function matchesCpu(
  device: WebGPUDevice,
  operands: readonly (Operand | undefined)[],
  f: (inputs: (Tensor | undefined)[]) => Tensor,
  tol: { atol: number; rtol: number },
  seed = 1,
): Promise<number[]> {
  const values = operands.map((op, j) => (op ? randomValues(op, seed * 1000 + j) : undefined));
  const make = (dev: ReturnType<typeof cpu> | WebGPUDevice) =>
    operands.map((op, j) => {
      if (!op) return undefined;
      const dtype: DType = op.dtype ?? (op.kind === 'bool' ? 'bool' : 'float32');
      return tensor(values[j]!, op.shape as number[], { dtype, device: dev });
    });
  const cpuInputs = make(cpu());
  const expected = f(cpuInputs);
  const want = Array.from(await expected.data(), Number);
  const gpuInputs = make(device);
  debugFlags.poisonOutputs = true;
  let got: number[];
  try {
    const out = f(gpuInputs);
    expect(out.shape).toEqual(expected.shape);
    got = Array.from(await out.data(), Number);
    out.dispose();
  } finally {
    debugFlags.poisonOutputs = false;
    for (const t of [...cpuInputs, ...gpuInputs, expected]) t?.dispose();
  }
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i]! - want[i]!) - (tol.atol + tol.rtol * Math.abs(want[i]!));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
      at = i;
    }
  }
  expect(at, `element ${at}: gpu ${got[at]} vs cpu ${want[at]}`).toBe(-1);
  return want;
}
