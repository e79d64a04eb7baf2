import type { Tensor } from '@qkv/tensor';
import { QkvError } from '@qkv/tensor';

/** A host-side row-major matrix, what the views draw and the tests compare. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** A stack of equally shaped matrices, e.g. one per head. */
export interface MatrixStack {
  count: number;
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Read a CPU tensor `[rows, cols]` into a Matrix (the tensor stays owned by the caller). */
export function toMatrix(t: Tensor): Matrix {
  if (t.rank !== 2) throw new QkvError(`toMatrix: expected a 2-D tensor, got ${t.toString()}`);
  const [rows, cols] = t.shape as [number, number];
  return { rows, cols, data: Float32Array.from(t.dataSync() as ArrayLike<number>) };
}

/** Read a CPU tensor `[count, rows, cols]` into a MatrixStack. */
export function toStack(t: Tensor): MatrixStack {
  if (t.rank !== 3) throw new QkvError(`toStack: expected a 3-D tensor, got ${t.toString()}`);
  const [count, rows, cols] = t.shape as [number, number, number];
  return { count, rows, cols, data: Float32Array.from(t.dataSync() as ArrayLike<number>) };
}

/** Matrix `index` of a stack, sharing its memory. */
export function stackAt(stack: MatrixStack, index: number): Matrix {
  const size = stack.rows * stack.cols;
  return {
    rows: stack.rows,
    cols: stack.cols,
    data: stack.data.subarray(index * size, (index + 1) * size),
  };
}

/** Row `r` of a matrix, sharing its memory. */
export function rowOf(m: Matrix, r: number): Float32Array {
  return m.data.subarray(r * m.cols, (r + 1) * m.cols);
}
