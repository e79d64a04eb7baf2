import { fail } from '../errors.js';
import { defineOp, runOp } from '../registry.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertSameDType, describe } from './validate.js';

export interface NormAttrs {
  /** How many trailing dimensions are normalised together (`normalized_shape`'s length). */
  readonly normalizedDims: number;
  readonly eps: number;
  readonly hasWeight: boolean;
  readonly hasBias: boolean;
}

function inferNorm(where: string, inputs: readonly Tensor[], attrs: NormAttrs) {
  const [x, ...params] = inputs;
  assertFloat(where, 'x', x!);
  const { normalizedDims, hasWeight, hasBias } = attrs;
  if (params.length !== Number(hasWeight) + Number(hasBias))
    fail(where, 'parameter tensors do not match hasWeight / hasBias');
  if (!Number.isInteger(normalizedDims) || normalizedDims < 1 || normalizedDims > x!.rank) {
    fail(where, `normalizes ${normalizedDims} trailing dimensions but x is ${describe(x!)}`);
  }
  const normalizedShape = x!.shape.slice(x!.rank - normalizedDims);
  params.forEach((p, i) => {
    const name = hasWeight && i === 0 ? 'weight' : 'bias';
    assertSameDType(where, ['x', name], [x!, p]);
    if (p.rank !== normalizedDims || p.shape.some((d, j) => d !== normalizedShape[j])) {
      fail(
        where,
        `${name} must have shape ${formatShape(normalizedShape)} (the normalized dimensions of x ${describe(x!)}), got ${describe(p)}`,
      );
    }
  });
  if (!(attrs.eps >= 0)) fail(where, `eps must be a non-negative number, got ${attrs.eps}`);
  return [{ shape: x!.shape, dtype: x!.dtype }];
}

export const LayerNormOp = defineOp<NormAttrs>({
  name: 'layerNorm',
  inputNames: ['x', 'weight', 'bias'],
  infer: (inputs, attrs) => inferNorm('layerNorm', inputs, attrs),
});

export const RmsNormOp = defineOp<NormAttrs>({
  name: 'rmsNorm',
  inputNames: ['x', 'weight'],
  infer: (inputs, attrs) => {
    if (attrs.hasBias) fail('rmsNorm', 'takes no bias');
    return inferNorm('rmsNorm', inputs, attrs);
  },
});

export interface NormOptions {
  /** Scale over the normalized dimensions. */
  weight?: Tensor;
  eps?: number;
  /** How many trailing dimensions to normalise over (default 1: the last). */
  normalizedDims?: number;
}

/**
 * `(x - mean) / sqrt(var + eps) * weight + bias` over the trailing dimensions, with the biased
 * variance (`torch.nn.functional.layer_norm`, eps 1e-5 by default).
 */
export function layerNorm(x: Tensor, options: NormOptions & { bias?: Tensor } = {}): Tensor {
  const { weight, bias, eps = 1e-5, normalizedDims = 1 } = options;
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return runOp(LayerNormOp, inputs, {
    normalizedDims,
    eps,
    hasWeight: !!weight,
    hasBias: !!bias,
  })[0]!;
}

/**
 * `x / sqrt(mean(x²) + eps) * weight` over the trailing dimensions
 * (`torch.nn.functional.rms_norm`; Zhang & Sennrich 2019). Like PyTorch, eps defaults to the
 * machine epsilon of the dtype.
 */
export function rmsNorm(x: Tensor, options: NormOptions = {}): Tensor {
  const { weight, normalizedDims = 1 } = options;
  const eps = options.eps ?? (x.dtype === 'float16' ? 2 ** -10 : 2 ** -23);
  const inputs = weight ? [x, weight] : [x];
  return runOp(RmsNormOp, inputs, { normalizedDims, eps, hasWeight: !!weight, hasBias: false })[0]!;
}
