import {
  type KernelFunc,
  type NormAttrs,
  registerKernel,
  type SoftmaxAttrs,
  type TypedArray,
} from '@qkv/tensor';
import type { WasmDevice } from '../wasm-device.js';

/**
 * `softmax` over the last axis and `layerNorm` / `rmsNorm` on float32: rows of contiguous
 * values, one SIMD pass each (assembly/rows.ts). Other axes and dtypes take the reference.
 */
export function registerRowKernels(fallback: <A>(op: string) => KernelFunc<A>): void {
  const softmaxFallback = fallback<SoftmaxAttrs>('softmax');
  registerKernel<SoftmaxAttrs>({
    op: 'softmax',
    backend: 'wasm',
    run(ctx) {
      const x = ctx.inputs[0]!;
      const width = x.shape[x.rank - 1] ?? 1;
      if (x.dtype !== 'float32' || ctx.attrs.axis !== x.rank - 1 || width === 0) {
        return softmaxFallback(ctx);
      }
      const wasm = (ctx.device as WasmDevice).module;
      const data = x.storage as TypedArray;
      const out = wasm.withOperands([data], [data.length * 4], ([px, po]) => {
        wasm.exports.softmaxRows(px!, po!, data.length / width, width);
        return wasm.f32(po!, data.length).slice();
      });
      return [ctx.device.upload(out, 'float32')];
    },
  });
  for (const op of ['layerNorm', 'rmsNorm'] as const) {
    const normFallback = fallback<NormAttrs>(op);
    registerKernel<NormAttrs>({
      op,
      backend: 'wasm',
      run(ctx) {
        const [x, ...params] = ctx.inputs;
        if (x!.dtype !== 'float32') return normFallback(ctx);
        const { normalizedDims, hasWeight, hasBias, eps } = ctx.attrs;
        const width = x!.shape.slice(x!.rank - normalizedDims).reduce((p, d) => p * d, 1);
        const wasm = (ctx.device as WasmDevice).module;
        const data = x!.storage as TypedArray;
        const operands = [data, ...params.map((p) => p.storage as TypedArray)];
        const out = wasm.withOperands(operands, [data.length * 4], (pointers) => {
          const [px] = pointers;
          const po = pointers[operands.length]!;
          const weight = hasWeight ? pointers[1]! : 0;
          const bias = hasBias ? pointers[hasWeight ? 2 : 1]! : 0;
          const rows = data.length / width;
          wasm.exports.normRows(
            px!,
            po,
            rows,
            width,
            weight,
            bias,
            eps,
            op === 'layerNorm' ? 1 : 0,
          );
          return wasm.f32(po, data.length).slice();
        });
        return [ctx.device.upload(out, 'float32')];
      },
    });
  }
}
