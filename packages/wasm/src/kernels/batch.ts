import { broadcastStrides, type Shape, sizeOf, stridesOf } from '@qkv/tensor';

/** For each flat index of `target` (row-major), `Σ index[d] * strides[d]`. */
export function offsetsOver(target: Shape, strides: readonly number[]): number[] {
  const targetStrides = stridesOf(target);
  return Array.from({ length: sizeOf(target) }, (_, flat) => {
    let offset = 0;
    for (let d = 0; d < target.length; d++) {
      offset += (Math.floor(flat / targetStrides[d]!) % target[d]!) * strides[d]!;
    }
    return offset;
  });
}

/**
 * For each flat index of `target`, the offset into a tensor of `shape` read through
 * broadcasting (stride 0 on broadcast dimensions), in elements of `shape`.
 */
export function broadcastOffsets(shape: Shape, target: Shape): number[] {
  return offsetsOver(target, broadcastStrides(shape, target));
}
