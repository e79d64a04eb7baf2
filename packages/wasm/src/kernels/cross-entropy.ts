import {
  type CrossEntropyAttrs,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import type { WasmDevice } from '../wasm-device.js';

/**
 * `crossEntropyBackward` on float32: dLogits_r = dy_r · (softmax(logits_r) − onehot(t_r)),
 * zero for rows whose target is `ignoreIndex`. The softmax is the native row kernel; a row
 * that is all -inf (where the native softmax gives zeros) gets NaN, as the reference's
 * exp(-inf − -inf) does. A target out of range takes the reference kernel, which names it.
 */
export function registerCrossEntropyKernels(reference: <A>(op: string) => KernelFunc<A>): void {
  const fallback = reference<CrossEntropyAttrs>('crossEntropyBackward');
  registerKernel<CrossEntropyAttrs>({
    op: 'crossEntropyBackward',
    backend: 'wasm',
    run(ctx) {
      const [logits, targets, dy] = ctx.inputs;
      const classes = logits!.shape[logits!.rank - 1]!;
      const t = targets!.storage as TypedArray;
      const { ignoreIndex } = ctx.attrs;
      const valid = (target: number) => target === ignoreIndex || (target >= 0 && target < classes);
      if (logits!.dtype !== 'float32' || classes === 0 || !t.every(valid)) return fallback(ctx);
      const wasm = (ctx.device as WasmDevice).module;
      const n = sizeOf(logits!.shape);
      const x = (logits!.storage as TypedArray).subarray(0, n);
      const dx = wasm.withOperands([x], [n * 4], ([px, po]) => {
        wasm.exports.softmaxRows(px!, po!, n / classes, classes);
        return wasm.f32(po!, n).slice();
      });
      const g = dy!.storage as TypedArray;
      for (let row = 0, start = 0; row < t.length; row++, start += classes) {
        const target = t[row]!;
        const end = start + classes;
        if (target === ignoreIndex) {
          dx.fill(0, start, end);
          continue;
        }
        const scale = g[row]!;
        let sum = 0;
        for (let i = start; i < end; i++) {
          sum += dx[i]!;
          dx[i]! *= scale;
        }
        if (sum === 0) dx.fill(Number.NaN, start, end);
        else dx[start + target]! -= scale;
      }
      return [ctx.device.upload(dx, 'float32')];
    },
  });
}
