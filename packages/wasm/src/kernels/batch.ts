import { type AttentionDims, broadcastStrides, type Shape, sizeOf, stridesOf } from '@qkv/tensor';

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

/** One (batch, query head) of an attention problem and where its rows lie in module memory. */
export interface AttentionHead {
  b: number;
  h: number;
  /** Flat query head, b * Hq + h. */
  qHead: number;
  /** Byte addresses of its q, k, v and output rows. */
  q: number;
  k: number;
  v: number;
  out: number;
}

/**
 * Every (batch, query head) of `d` in order, given the byte addresses of q, k, v and the
 * output; query head h reads key / value head floor(h / groupSize) (grouped-query attention).
 */
export function attentionHeads(
  d: AttentionDims,
  [q, k, v, out]: readonly number[],
): AttentionHead[] {
  const { queryLength: l, headDim: e, valueDim: ev, keyCapacity } = d;
  const heads: AttentionHead[] = [];
  for (let b = 0; b < d.batch; b++) {
    for (let h = 0; h < d.qHeads; h++) {
      const kvHead = b * d.kvHeads + Math.floor(h / d.groupSize);
      const qHead = b * d.qHeads + h;
      heads.push({
        b,
        h,
        qHead,
        q: q! + qHead * l * e * 4,
        k: k! + kvHead * keyCapacity * e * 4,
        v: v! + kvHead * keyCapacity * ev * 4,
        out: out! + qHead * l * ev * 4,
      });
    }
  }
  return heads;
}
