import {
  type KernelFunc,
  type MatmulAttrs,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import type { KernelCall } from '../thread-pool.js';
import type { WasmDevice } from '../wasm-device.js';
import { broadcastOffsets } from './batch.js';

/**
 * `matmul` on float32: every batch (broadcast like the op defines) runs the packed SIMD GEMM
 * of assembly/matmul.ts. Transposes are strides given to the packing, never copies.
 */
export function registerMatmulKernel(fallback: KernelFunc<MatmulAttrs>): void {
  registerKernel<MatmulAttrs>({
    op: 'matmul',
    backend: 'wasm',
    run(ctx) {
      const [a, b] = ctx.inputs;
      const spec = ctx.outputs[0]!;
      if (spec.dtype !== 'float32') return fallback(ctx);
      const device = ctx.device as WasmDevice;
      const { transposeA, transposeB } = ctx.attrs;
      const outShape = spec.shape;
      const rank = outShape.length;
      const m = outShape[rank - 2]!;
      const n = outShape[rank - 1]!;
      const aRows = a!.shape[a!.rank - 2]!;
      const aCols = a!.shape[a!.rank - 1]!;
      const bRows = b!.shape[b!.rank - 2]!;
      const bCols = b!.shape[b!.rank - 1]!;
      const k = transposeA ? aRows : aCols;
      const [aRs, aCs] = transposeA ? [1, aCols] : [aCols, 1];
      const [bRs, bCs] = transposeB ? [1, bCols] : [bCols, 1];
      const batchShape = outShape.slice(0, -2);
      const aOffsets = broadcastOffsets(a!.shape.slice(0, -2), batchShape);
      const bOffsets = broadcastOffsets(b!.shape.slice(0, -2), batchShape);

      const wasm = device.module;
      const aMatrix = aRows * aCols;
      const bMatrix = bRows * bCols;
      const operands = [a!.storage as TypedArray, b!.storage as TypedArray];
      const size = sizeOf(outShape);
      const scratchBytes = wasm.exports.matmulScratchBytes(m, n, k);
      const extra = [size * 4, ...Array<number>(wasm.threads).fill(scratchBytes)];
      // Each thread takes a band of rows (a multiple of the micro-kernel's 4) of every batch.
      const band = Math.ceil(m / wasm.threads / 4) * 4;
      const out = wasm.withOperands(operands, extra, ([pa, pb, pc, ...scratch]) => {
        const calls = scratch.map((scratchAt, t): KernelCall[] => {
          const i0 = t * band;
          const rows = Math.min(band, m - i0);
          if (rows <= 0) return [];
          return aOffsets.map((ao, batch): KernelCall => {
            const a0 = pa! + (ao * aMatrix + i0 * aRs) * 4;
            const b0 = pb! + bOffsets[batch]! * bMatrix * 4;
            const c0 = pc! + (batch * m + i0) * n * 4;
            return ['matmul', [a0, b0, c0, rows, n, k, aRs, aCs, bRs, bCs, scratchAt]];
          });
        });
        wasm.parallel(calls);
        return wasm.f32(pc!, size).slice();
      });
      return [device.upload(out)];
    },
  });
}
