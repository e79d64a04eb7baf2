import { broadcastStrides, type MatmulAttrs, sizeOf, type Tensor } from '@qkv/tensor';
import { type ParamBlock, paramBlock } from '../wgsl/params.js';
import { stridedOffsets } from '../wgsl/shader.js';

const SCALARS = ['M', 'N', 'K', 'aRow', 'aInner', 'bInner', 'bCol'] as const;

/** The plan's parameters for batch rank `r`. */
const matmulFields = (r: number) =>
  ({
    M: 'u32',
    N: 'u32',
    K: 'u32',
    aRow: 'u32',
    aInner: 'u32',
    bInner: 'u32',
    bCol: 'u32',
    batchShape: ['u32', r],
    aBatch: ['u32', r],
    bBatch: ['u32', r],
  }) as const;

/**
 * Where element (i, p) of op(a) and (p, j) of op(b) live, and the batch walk. Parameters:
 * M, N, K, a row / inner strides, b inner / column strides, the output batch shape and each
 * operand's broadcast batch strides (in elements).
 */
export interface MatmulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
  readonly batchRank: number;
  readonly params: ParamBlock;
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
    params: paramBlock(matmulFields(batchShape.length), {
      M: m,
      N: n,
      K: k,
      aRow,
      aInner,
      bInner,
      bCol,
      batchShape,
      aBatch,
      bBatch,
    }),
  };
}

/** WGSL naming the plan's scalars as locals, and the batch offsets `off0` / `off1`. */
export function planWgsl(batchRank: number, batchIndex: string): string {
  return [
    ...SCALARS.map((name) => `  let ${name} = params.${name};`),
    stridedOffsets(batchRank, batchIndex, 'batchShape', [
      { strides: 'aBatch' },
      { strides: 'bBatch' },
    ]),
  ].join('\n');
}
