import { zeros } from '../creation.js';
import { add } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * Sum a gradient back to the shape of an input that was broadcast to it: leading dimensions
 * the input lacks, and dimensions where it had 1, are summed away (the adjoint of
 * broadcasting). Returns `g` itself when the shapes already agree.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  let out = g;
  for (let axis = g.rank - 1; axis >= 0; axis--) {
    const target = axis < lead ? undefined : shape[axis - lead];
    if (target === 1 || target === undefined) {
      const reduced = sum(out, axis, true);
      if (out !== g) out.dispose();
      out = reduced;
    }
  }
  const reshaped = out.reshape(shape);
  if (out !== g) out.dispose();
  return reshaped;
}

/** `g` broadcast to `shape` (the adjoint of a sum over the dimensions it lacks). */
export function broadcastTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const base = zeros(shape, { dtype: g.dtype, device: g.device });
  try {
    return add(base, g);
  } finally {
    base.dispose();
  }
}
