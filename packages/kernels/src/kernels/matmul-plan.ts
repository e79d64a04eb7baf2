import { broadcastStrides, type MatmulAttrs, sizeOf, type Tensor } from '@qkv/tensor';
import { param, stridedOffsets } from '../wgsl/shader.js';

/**
 * Where element (i, p) of op(a) and (p, j) of op(b) live, and the batch walk. Parameter words:
 * M, N, K, a row / inner strides, b inner / column strides, then the output batch shape and
 * each operand's broadcast batch strides (in elements).
 */
export interface MatmulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
  readonly batchRank: number;
  readonly params: number[];
}

export function planMatmul(
  a: Tensor,
  b: Tensor,
  attrs: MatmulAttrs,
  outShape: readonly number[],
): MatmulPlan {
  const rank = outShape.length;
  const m = outShape[rank - 2]!;
  const n = outShape[rank - 1]!;
  const aCols = a.shape[a.rank - 1]!;
  const bCols = b.shape[b.rank - 1]!;
  const k = attrs.transposeA ? a.shape[a.rank - 2]! : aCols;
  const [aRow, aInner] = attrs.transposeA ? [1, aCols] : [aCols, 1];
  const [bInner, bCol] = attrs.transposeB ? [1, k] : [bCols, 1];
  const batchShape = outShape.slice(0, -2);
  const aMatrix = a.shape[a.rank - 2]! * aCols;
  const bMatrix = b.shape[b.rank - 2]! * bCols;
  const aBatch = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * aMatrix);
  const bBatch = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * bMatrix);
  return {
    m,
    n,
    k,
    batch: sizeOf(batchShape),
    batchRank: batchShape.length,
    params: [m, n, k, aRow, aInner, bInner, bCol, ...batchShape, ...aBatch, ...bBatch],
  };
}

/** WGSL naming the plan's words (after the map kernel's size word) and the batch offsets. */
export function planWgsl(batchRank: number, batchIndex: string): string {
  const names = ['M', 'N', 'K', 'aRow', 'aInner', 'bInner', 'bCol'];
  return [
    ...names.map((name, w) => `  let ${name} = ${param(w)};`),
    stridedOffsets(batchRank, batchIndex, 7, [
      { stridesAt: 7 + batchRank },
      { stridesAt: 7 + 2 * batchRank },
    ]),
  ].join('\n');
}
