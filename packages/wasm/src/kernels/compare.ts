import {
  allocateTypedArray,
  type BinaryOpName,
  COMPARISONS,
  type KernelFunc,
  registerKernel,
  sizeOf,
  type TypedArray,
} from '@qkv/tensor';
import { type RowsAndCols, rowsAndCols } from './elementwise.js';

// Comparisons and `where` on any dtype, in JavaScript over the typed arrays: a rows x cols
// loop (same shapes, scalars, a trailing-dimension operand, a column) instead of the
// reference's per-element broadcast indexing. A gradient builds its one-hot matrices from
// these (an embedding's gradient compares every token with every vocabulary entry). Other
// broadcasts take the reference kernel.

/** The comparisons' formulas (as the reference backend's, on the same stored values). */
const COMPARE: Partial<Record<BinaryOpName, (a: number, b: number) => boolean>> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  less: (a, b) => a < b,
  lessEqual: (a, b) => a <= b,
  greater: (a, b) => a > b,
  greaterEqual: (a, b) => a >= b,
};

/**
 * Register `op` on the wasm backend as `fill(operands, plan, out)` over the rows x cols of
 * its broadcast; other broadcasts take the reference kernel.
 */
function registerRowsKernel(
  op: string,
  reference: <A>(op: string) => KernelFunc<A>,
  fill: (operands: TypedArray[], plan: RowsAndCols, out: TypedArray) => void,
): void {
  const fallback = reference<unknown>(op);
  registerKernel<unknown>({
    op,
    backend: 'wasm',
    run(ctx) {
      const spec = ctx.outputs[0]!;
      const plan = rowsAndCols(
        spec.shape,
        ctx.inputs.map((t) => t.shape),
      );
      if (!plan) return fallback(ctx);
      const out = allocateTypedArray(spec.dtype, sizeOf(spec.shape));
      fill(
        ctx.inputs.map((t) => t.storage as TypedArray),
        plan,
        out,
      );
      return [ctx.device.upload(out, spec.dtype)];
    },
  });
}

type Strides = [number, number];

export function registerCompareKernels(reference: <A>(op: string) => KernelFunc<A>): void {
  for (const op of COMPARISONS) {
    const compare = COMPARE[op]!;
    registerRowsKernel(op, reference, ([a, b], { rows, cols, strides }, out) => {
      const [[aRow, aCol], [bRow, bCol]] = strides as [Strides, Strides];
      let i = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          out[i++] = compare(a![r * aRow + c * aCol]!, b![r * bRow + c * bCol]!) ? 1 : 0;
        }
      }
    });
  }
  // Selected values are stored values of a or b: float16 needs no new rounding.
  registerRowsKernel('where', reference, ([cond, a, b], { rows, cols, strides }, out) => {
    const [[cRow, cCol], [aRow, aCol], [bRow, bCol]] = strides as [Strides, Strides, Strides];
    let i = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        out[i++] = cond![r * cRow + c * cCol] ? a![r * aRow + c * aCol]! : b![r * bRow + c * bCol]!;
      }
    }
  });
}
