import { broadcastStrides, type Shape, sizeOf } from '../shape.js';

/**
 * Visit every element of `shape` in row-major order with, for each input, the offset
 * `base + Σ index[d] * strides[d]`. Broadcasting (stride 0), permutation (permuted strides)
 * and strided slicing (stepped strides) are all this one walk.
 */
export function walkStrided(
  shape: Shape,
  strides: readonly (readonly number[])[],
  bases: readonly number[],
  visit: (index: number, offsets: readonly number[]) => void,
): void {
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  const offsets = [...bases];
  const size = sizeOf(shape);
  for (let index = 0; index < size; index++) {
    visit(index, offsets);
    // Odometer increment: bump the last dimension, carrying into earlier ones.
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      for (let k = 0; k < offsets.length; k++) offsets[k]! += strides[k]![d]!;
      if (counter[d]! < shape[d]!) break;
      for (let k = 0; k < offsets.length; k++) offsets[k]! -= strides[k]![d]! * counter[d]!;
      counter[d] = 0;
    }
  }
}

/** Walk `outShape` with the offset of each input as read through broadcasting. */
export function forEachBroadcast(
  outShape: Shape,
  inputShapes: readonly Shape[],
  visit: (outIndex: number, offsets: readonly number[]) => void,
): void {
  const strides = inputShapes.map((s) => broadcastStrides(s, outShape));
  walkStrided(
    outShape,
    strides,
    inputShapes.map(() => 0),
    visit,
  );
}

/** Split a shape around `axis` into `[outer, length, inner]` element counts. */
export function splitAtAxis(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis] ?? 1, sizeOf(shape.slice(axis + 1))];
}
