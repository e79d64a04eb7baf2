import { fail } from '../errors.js';
import { defineOp, runOp } from '../registry.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { assertFloat, assertSameDType, assertTensors, describe } from './validate.js';

export interface MatmulAttrs {
  /** Read `a` as its last two dimensions swapped: `[..., K, M]`. */
  readonly transposeA: boolean;
  /** Read `b` as its last two dimensions swapped: `[..., N, K]` (so Q·Kᵀ needs no permute). */
  readonly transposeB: boolean;
}

export const MatmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  inputNames: ['a', 'b'],
  infer([a, b], { transposeA, transposeB }) {
    assertSameDType('matmul', ['a', 'b'], [a!, b!]);
    assertFloat('matmul', 'a', a!);
    if (a!.rank < 2 || b!.rank < 2)
      fail('matmul', `a ${describe(a!)} and b ${describe(b!)} must have rank >= 2`);
    const [m, ka] = matrixDims(a!, transposeA);
    const [kb, n] = matrixDims(b!, transposeB);
    if (ka !== kb) {
      fail(
        'matmul',
        `inner dimensions differ: a ${describe(a!)}${transposeA ? ' (transposed)' : ''} has ${ka}, b ${describe(b!)}${transposeB ? ' (transposed)' : ''} has ${kb}`,
      );
    }
    const batch = broadcastShapes(
      'matmul (batch dimensions)',
      a!.shape.slice(0, -2),
      b!.shape.slice(0, -2),
    );
    return [{ shape: [...batch, m, n], dtype: a!.dtype }];
  },
});

/** `[rows, cols]` of the matrix a batched operand stands for. */
function matrixDims(t: Tensor, transposed: boolean): [number, number] {
  const r = t.shape[t.rank - 2]!;
  const c = t.shape[t.rank - 1]!;
  return transposed ? [c, r] : [r, c];
}

/**
 * Matrix product with PyTorch's `matmul` rules: batch dimensions broadcast, and a 1-D
 * operand is a vector (its added dimension is removed from the result). The transpose flags
 * swap the last two dimensions of an operand without a copy.
 */
export function matmul(a: Tensor, b: Tensor, options: Partial<MatmulAttrs> = {}): Tensor {
  const attrs = {
    transposeA: options.transposeA ?? false,
    transposeB: options.transposeB ?? false,
  };
  assertTensors('matmul', { a, b });
  if (a.rank === 0 || b.rank === 0)
    fail('matmul', `a ${describe(a)} and b ${describe(b)} must not be scalars`);
  if (a.rank >= 2 && b.rank >= 2) return runOp(MatmulOp, [a, b], attrs)[0]!;
  // Vectors: a [K] acts as [1, K], b [K] as [K, 1]; transposing a vector changes nothing.
  const a2 = a.rank === 1 ? a.reshape([1, a.size]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.size, 1]) : b;
  const flags = {
    transposeA: a.rank === 1 ? false : attrs.transposeA,
    transposeB: b.rank === 1 ? false : attrs.transposeB,
  };
  try {
    const out = runOp(MatmulOp, [a2, b2], flags)[0]!;
    const shape = out.shape.filter(
      (_, i) => !(a.rank === 1 && i === out.rank - 2) && !(b.rank === 1 && i === out.rank - 1),
    );
    const squeezed = out.reshape(shape);
    out.dispose();
    return squeezed;
  } finally {
    if (a2 !== a) a2.dispose();
    if (b2 !== b) b2.dispose();
  }
}

/**
 * `x · weightᵀ + bias`, as `torch.nn.functional.linear`: x `[..., in]`, weight `[out, in]`,
 * bias `[out]`.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  assertTensors('linear', { x, weight, bias }, ['bias']);
  if (weight.rank !== 2) fail('linear', `weight must be [out, in], got ${describe(weight)}`);
  if (x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    fail(
      'linear',
      `x ${describe(x)} must end in in_features = ${weight.shape[1]} of weight ${describe(weight)}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    fail('linear', `bias must be [${weight.shape[0]}], got ${describe(bias)}`);
  }
  const flat = x.reshape([-1, x.shape[x.rank - 1]!]);
  const product = runOp(MatmulOp, [flat, weight], { transposeA: false, transposeB: true })[0]!;
  flat.dispose();
  const withBias = bias ? add(product, bias) : product;
  if (bias) product.dispose();
  const out = withBias.reshape([...x.shape.slice(0, -1), weight.shape[0]!]);
  withBias.dispose();
  return out;
}
