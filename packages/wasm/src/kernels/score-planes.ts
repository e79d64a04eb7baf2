import {
  type AttentionAttrs,
  type AttentionDims,
  broadcastStrides,
  type Tensor,
  type TypedArray,
} from '@qkv/tensor';
import { offsetsOver } from './batch.js';

/** A mask or bias, as float32 in module memory, addressed like the `[B..., Hq, L, S]` scores. */
export interface ScorePlane {
  values: Float32Array;
  batchOffsets: number[];
  headStride: number;
  rowStride: number;
  colStride: number;
}

/** Bool masks become additive 0 / -inf planes: adding -inf is the op's "may not attend". */
function scorePlane(t: Tensor, dims: AttentionDims): ScorePlane {
  const data = t.storage as TypedArray;
  const values =
    t.dtype === 'bool'
      ? Float32Array.from(data, (x) => (x ? 0 : Number.NEGATIVE_INFINITY))
      : Float32Array.from(data);
  const strides = broadcastStrides(t.shape, dims.scoreShape);
  const nb = dims.batchShape.length;
  return {
    values,
    batchOffsets: offsetsOver(dims.batchShape, strides.slice(0, nb)),
    headStride: strides[nb]!,
    rowStride: strides[nb + 1]!,
    colStride: strides[nb + 2]!,
  };
}

/** The optional inputs of an attention op (mask, bias, ALiBi slopes, in that order). */
export interface ScoreExtras {
  planes: ScorePlane[];
  slopes: Float32Array | undefined;
}

export function scoreExtras(
  extras: readonly Tensor[],
  attrs: AttentionAttrs,
  dims: AttentionDims,
): ScoreExtras {
  const planes: ScorePlane[] = [];
  let next = 0;
  if (attrs.hasMask) planes.push(scorePlane(extras[next++]!, dims));
  if (attrs.hasBias) planes.push(scorePlane(extras[next++]!, dims));
  const slopes = attrs.hasAlibi
    ? Float32Array.from(extras[next++]!.storage as TypedArray)
    : undefined;
  return { planes, slopes };
}

/** The extras as operands for module memory: the planes, then the slopes if any. */
export function extraOperands({ planes, slopes }: ScoreExtras): Float32Array[] {
  return [...planes.map((p) => p.values), ...(slopes ? [slopes] : [])];
}

/**
 * Arguments of `setHeadTerms` (assembly/score-terms.ts) for batch entry b, given the byte
 * addresses of `extraOperands` in module memory.
 */
export function headTerms(
  softcap: number,
  { planes, slopes }: ScoreExtras,
  pointers: readonly number[],
  b: number,
): number[] {
  const at = (i: number): [number, number, number, number] => {
    const p = planes[i];
    if (!p) return [0, 0, 0, 0];
    return [pointers[i]! + p.batchOffsets[b]! * 4, p.headStride, p.rowStride, p.colStride];
  };
  const slopesAt = slopes ? pointers[planes.length]! : 0;
  return [softcap, slopesAt, ...at(0), ...at(1)];
}
