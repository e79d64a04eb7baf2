import { cpu, type DType, Random, type Tensor, tensor } from '@qkv/tensor';

/** A seeded CPU input of any dtype: uniform floats, integers, or bools with a density. */
export interface Operand {
  readonly shape: readonly number[];
  readonly dtype?: DType;
  /** `uniform` (default) in [low, high), `int` floors those, `bool` is true with `density`. */
  readonly kind?: 'uniform' | 'bool' | 'int';
  readonly density?: number;
  readonly low?: number;
  readonly high?: number;
}

export function randomOperand(op: Operand, seed: number): Tensor {
  const rng = new Random(seed);
  const count = op.shape.reduce((p, d) => p * d, 1);
  const { low = -1, high = 1 } = op;
  const values =
    op.kind === 'bool'
      ? Array.from({ length: count }, () => rng.nextFloat() < (op.density ?? 0.7))
      : Array.from({ length: count }, () => {
          const v = low + (high - low) * rng.nextFloat();
          return op.kind === 'int' ? Math.floor(v) : v;
        });
  const dtype: DType = op.dtype ?? (op.kind === 'bool' ? 'bool' : 'float32');
  return tensor(values, op.shape as number[], { dtype, device: cpu() });
}
