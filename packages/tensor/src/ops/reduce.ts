import { fail } from '../errors.js';
import { defineOp, type OpDef, runOp } from '../registry.js';
import { normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDTypeIn, assertFloat, assertTensors, describe } from './validate.js';

export const REDUCE_OPS = ['sum', 'mean', 'max', 'min', 'logsumexp', 'argmax'] as const;
export type ReduceOpName = (typeof REDUCE_OPS)[number];

/** Reductions run over one axis; `axis` arrives normalised to `[0, rank)`. */
export interface ReduceAttrs {
  readonly axis: number;
  readonly keepDim: boolean;
}

function reduceDef(name: ReduceOpName): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name,
    inputNames: ['x'],
    infer([x], { axis, keepDim }) {
      if (name === 'mean' || name === 'logsumexp') assertFloat(name, 'x', x!);
      else assertDTypeIn(name, 'x', x!, ['float32', 'float16', 'int32', 'uint32']);
      if (axis < 0 || axis >= x!.rank)
        fail(name, `axis ${axis} is out of range for x ${describe(x!)}`);
      if (x!.shape[axis] === 0 && (name === 'max' || name === 'min' || name === 'argmax')) {
        fail(name, `cannot take ${name} over axis ${axis} of length 0 in x ${describe(x!)}`);
      }
      const shape = keepDim
        ? x!.shape.map((d, i) => (i === axis ? 1 : d))
        : x!.shape.filter((_, i) => i !== axis);
      return [{ shape, dtype: name === 'argmax' ? 'int32' : x!.dtype }];
    },
  });
}

export const reduceOpDefs = Object.fromEntries(REDUCE_OPS.map((n) => [n, reduceDef(n)])) as Record<
  ReduceOpName,
  OpDef<ReduceAttrs>
>;

/**
 * Reduce over `axis` (negative counts from the end) or, with no axis, over every element.
 * Empty axes follow PyTorch: `sum` gives 0, `mean` NaN, `logsumexp` -inf, and `max`, `min`,
 * `argmax` throw.
 */
export function reduce(name: ReduceOpName, x: Tensor, axis?: number, keepDim = false): Tensor {
  assertTensors(name, { x });
  if (axis === undefined) {
    const flat = x.reshape([x.size]);
    try {
      const out = runOp(reduceOpDefs[name], [flat], { axis: 0, keepDim: false })[0]!;
      if (!keepDim) return out;
      const kept = out.reshape(x.shape.map(() => 1));
      out.dispose();
      return kept;
    } finally {
      flat.dispose();
    }
  }
  return runOp(reduceOpDefs[name], [x], { axis: normalizeAxis(name, axis, x.rank), keepDim })[0]!;
}

export const sum = (x: Tensor, axis?: number, keepDim = false) => reduce('sum', x, axis, keepDim);
export const mean = (x: Tensor, axis?: number, keepDim = false) => reduce('mean', x, axis, keepDim);
export const max = (x: Tensor, axis?: number, keepDim = false) => reduce('max', x, axis, keepDim);
export const min = (x: Tensor, axis?: number, keepDim = false) => reduce('min', x, axis, keepDim);
export const logsumexp = (x: Tensor, axis?: number, keepDim = false) =>
  reduce('logsumexp', x, axis, keepDim);
/** Index (int32) of the first maximum; NaN counts as the maximum, as in PyTorch. */
export const argmax = (x: Tensor, axis?: number, keepDim = false) =>
  reduce('argmax', x, axis, keepDim);

export interface SoftmaxAttrs {
  readonly axis: number;
}

function softmaxDef(name: 'softmax' | 'logSoftmax'): OpDef<SoftmaxAttrs> {
  return defineOp<SoftmaxAttrs>({
    name,
    inputNames: ['x'],
    infer([x], { axis }) {
      assertFloat(name, 'x', x!);
      if (axis < 0 || axis >= Math.max(x!.rank, 1))
        fail(name, `axis ${axis} is out of range for x ${describe(x!)}`);
      return [{ shape: x!.shape, dtype: x!.dtype }];
    },
  });
}

export const SoftmaxOp = softmaxDef('softmax');
export const LogSoftmaxOp = softmaxDef('logSoftmax');

/**
 * Numerically stable softmax over `axis` (default last). A row that is entirely -inf (every
 * position masked) gives zeros rather than NaN, which is what attention wants; `logSoftmax`
 * gives -inf there.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertTensors('softmax', { x });
  return runOp(SoftmaxOp, [x], { axis: normalizeAxis('softmax', axis, x.rank) })[0]!;
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  assertTensors('logSoftmax', { x });
  return runOp(LogSoftmaxOp, [x], { axis: normalizeAxis('logSoftmax', axis, x.rank) })[0]!;
}
