import type { MatmulAttrs } from '../ops/matmul.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { forEachBroadcast } from './indexing.js';

export function registerMatmulKernels(): void {
  registerCpuKernel<MatmulAttrs>('matmul', ({ inputs, attrs, outputs }, [out]) => {
    const [a, b] = inputs;
    const outShape = outputs[0]!.shape;
    const rank = outShape.length;
    const m = outShape[rank - 2]!;
    const n = outShape[rank - 1]!;
    const aRows = a!.shape[a!.rank - 2]!;
    const aCols = a!.shape[a!.rank - 1]!;
    const bCols = b!.shape[b!.rank - 1]!;
    const k = attrs.transposeA ? aRows : aCols;
    // Element (i, p) of op(a) and (p, j) of op(b), in each operand's own row-major layout.
    const [aRowStride, aInnerStride] = attrs.transposeA ? [1, aCols] : [aCols, 1];
    const [bInnerStride, bColStride] = attrs.transposeB ? [1, k] : [bCols, 1];
    const da = cpuData(a!);
    const db = cpuData(b!);
    const batchShape = outShape.slice(0, -2);
    const aBatch = a!.shape.slice(0, -2);
    const bBatch = b!.shape.slice(0, -2);
    // Batch offsets in matrices, scaled to elements below.
    const aMatrix = aRows * aCols;
    const bMatrix = b!.shape[b!.rank - 2]! * bCols;
    // Loop order follows memory: with b row-major the j loop walks a row of b (i, p, j, into
    // a float64 row of accumulators); with b transposed a row of b is a column of op(b), so
    // each output is a contiguous dot product (i, j, p). Both accumulate in float64.
    const row = new Float64Array(n);
    forEachBroadcast(batchShape, [aBatch, bBatch], (batch, [ab, bb]) => {
      const aBase = ab! * aMatrix;
      const bBase = bb! * bMatrix;
      const outBase = batch * m * n;
      for (let i = 0; i < m; i++) {
        const aRow = aBase + i * aRowStride;
        if (attrs.transposeB) {
          for (let j = 0; j < n; j++) {
            const bRow = bBase + j * bColStride;
            let acc = 0;
            for (let p = 0; p < k; p++) acc += da[aRow + p * aInnerStride]! * db[bRow + p]!;
            out![outBase + i * n + j] = acc;
          }
          continue;
        }
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const aip = da[aRow + p * aInnerStride]!;
          const bRow = bBase + p * bInnerStride;
          for (let j = 0; j < n; j++) row[j]! += aip * db[bRow + j]!;
        }
        for (let j = 0; j < n; j++) out![outBase + i * n + j] = row[j]!;
      }
    });
  });
}
