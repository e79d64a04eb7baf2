import { registerGradient } from '../autodiff/gradient-registry.js';
import { arange, fromTypedArray } from '../creation.js';
import { isFloatDType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { add, equal, less, where } from './elementwise.js';
import {
  type CastAttrs,
  type ConcatAttrs,
  cast,
  type GatherAttrs,
  narrow,
  type PermuteAttrs,
  permute,
  type SliceAttrs,
} from './layout.js';
import { matmul } from './matmul.js';

/**
 * The adjoint of selecting rows along `axis`: `g` holds `k` selected rows, `oneHot` is
 * `[k, n]` with a 1 at (r, the source row of r); rows selected twice add up. Written as a
 * matmul so every backend has it without a scatter kernel.
 */
function scatterRows(g: Tensor, axis: number, oneHot: Tensor, n: number): Tensor {
  const pre = g.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const k = oneHot.shape[0]!;
  const post = g.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const out = matmul(oneHot, g.reshape([pre, k, post]), { transposeA: true });
  return out.reshape([...g.shape.slice(0, axis), n, ...g.shape.slice(axis + 1)]);
}

/** A `[k, n]` one-hot matrix in `dtype` from host row sources. */
function hostOneHot(sources: readonly number[], n: number, like: Tensor): Tensor {
  const data = new Float32Array(sources.length * n);
  sources.forEach((s, r) => {
    data[r * n + s] = 1;
  });
  const f32 = fromTypedArray(data, [sources.length, n], 'float32', like.device);
  return like.dtype === 'float32' ? f32 : cast(f32, like.dtype);
}

export function registerLayoutGradients(): void {
  registerGradient<PermuteAttrs>('permute', ([dy], { attrs: { perm } }) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [permute(dy!, inverse)];
  });
  registerGradient<ConcatAttrs>('concat', ([dy], { inputs, attrs: { axis } }) => {
    let offset = 0;
    return inputs.map((t) => {
      const g = narrow(dy!, axis, offset, t.shape[axis]!);
      offset += t.shape[axis]!;
      return g;
    });
  });
  registerGradient<SliceAttrs>('slice', ([dy], { inputs: [x], attrs }) => {
    let g = dy!;
    x!.shape.forEach((n, axis) => {
      const size = attrs.sizes[axis]!;
      if (size === n) return;
      const sources = Array.from(
        { length: size },
        (_, r) => attrs.starts[axis]! + r * attrs.steps[axis]!,
      );
      g = scatterRows(g, axis, hostOneHot(sources, n, g), n);
    });
    return [g];
  });
  registerGradient<GatherAttrs>('gather', ([dy], { inputs: [x, indices], attrs: { axis } }) => {
    const n = x!.shape[axis]!;
    const flat = indices!.reshape([indices!.size, 1]);
    const idx = flat.dtype === 'int32' ? where(less(flat, 0), add(flat, n), flat) : flat;
    const positions = arange(n, undefined, 1, { dtype: idx.dtype, device: idx.device });
    const oneHot = cast(equal(idx, positions.reshape([1, n])), dy!.dtype);
    const rows = dy!.reshape([
      ...x!.shape.slice(0, axis),
      indices!.size,
      ...x!.shape.slice(axis + 1),
    ]);
    return [scatterRows(rows, axis, oneHot, n), undefined];
  });
  // Float to float casts pass the gradient back in the input's dtype; casts to integers or
  // bool give outputs the tape never follows (they are not float).
  registerGradient<CastAttrs>('cast', ([dy], { inputs: [x] }) => [
    isFloatDType(x!.dtype) ? cast(dy!, x!.dtype) : undefined,
  ]);
}
