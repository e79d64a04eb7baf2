import {
  type BinaryOpName,
  type KernelFunc,
  registerKernel,
  type Shape,
  sizeOf,
  type TypedArray,
  type UnaryOpName,
} from '@qkv/tensor';
import type { WasmDevice } from '../wasm-device.js';

/** Unary ops with a native kernel; the position is the op code of assembly/elementwise.ts. */
export const NATIVE_UNARY: readonly UnaryOpName[] = [
  'neg',
  'abs',
  'relu',
  'sqrt',
  'rsqrt',
  'exp',
  'sigmoid',
  'silu',
];

/** Binary ops with a native kernel; the position is the op code of assembly/elementwise.ts. */
export const NATIVE_BINARY: readonly BinaryOpName[] = [
  'add',
  'sub',
  'mul',
  'div',
  'maximum',
  'minimum',
];

/** An elementwise problem as rows x cols, each operand read at `row * r + col * c`. */
export interface RowsAndCols {
  rows: number;
  cols: number;
  strides: [number, number][];
}

/**
 * Express broadcasting `shapes` to `out` as rows x cols with, per operand, a column stride of
 * 1 (it varies along the row) or 0 (constant along it) and a row stride: same shapes, scalars,
 * a trailing-dimension operand such as a bias `[D]` over `[N, D]`, or a `[N, 1]` over
 * `[N, D]`. Undefined for other broadcasts (the reference kernel handles those).
 */
export function rowsAndCols(out: Shape, shapes: readonly Shape[]): RowsAndCols | undefined {
  const rank = out.length;
  for (let split = 0; split <= rank; split++) {
    const rows = sizeOf(out.slice(0, split));
    const cols = sizeOf(out.slice(split));
    const strides: [number, number][] = [];
    for (const shape of shapes) {
      const dims = [...Array<number>(rank - shape.length).fill(1), ...shape];
      const part = (from: number, to: number) => {
        const own = dims.slice(from, to);
        if (own.every((d, i) => d === out[from + i])) return 'whole';
        return own.every((d) => d === 1) ? 'broadcast' : undefined;
      };
      const inner = part(split, rank);
      const outer = part(0, split);
      if (!inner || !outer) break;
      const col = inner === 'whole' ? 1 : 0;
      strides.push([outer === 'broadcast' ? 0 : col === 1 ? cols : 1, col]);
    }
    if (strides.length === shapes.length) return { rows, cols, strides };
  }
  return undefined;
}

/**
 * Native float32 kernels for the unary and binary ops above (one SIMD pass; the exp-based
 * ones through the polynomial exp of assembly/exp.ts); other dtypes, ops and broadcasts take
 * the reference kernel.
 */
export function registerElementwiseKernels(reference: <A>(op: string) => KernelFunc<A>): void {
  NATIVE_UNARY.forEach((op, code) => {
    const fallback = reference<unknown>(op);
    registerKernel<unknown>({
      op,
      backend: 'wasm',
      run(ctx) {
        const x = ctx.inputs[0]!;
        if (x.dtype !== 'float32' || ctx.outputs[0]!.dtype !== 'float32') return fallback(ctx);
        const device = ctx.device as WasmDevice;
        const wasm = device.module;
        const data = x.storage as TypedArray;
        const n = sizeOf(x.shape);
        const out = wasm.withOperands([data.subarray(0, n)], [n * 4], ([px, po]) => {
          wasm.exports.unaryF32(code, px!, po!, n);
          return wasm.f32(po!, n).slice();
        });
        return [device.upload(out)];
      },
    });
  });
  NATIVE_BINARY.forEach((op, code) => {
    const fallback = reference<unknown>(op);
    registerKernel<unknown>({
      op,
      backend: 'wasm',
      run(ctx) {
        const [a, b] = ctx.inputs;
        const spec = ctx.outputs[0]!;
        const plan =
          a!.dtype === 'float32' && b!.dtype === 'float32' && spec.dtype === 'float32'
            ? rowsAndCols(spec.shape, [a!.shape, b!.shape])
            : undefined;
        const n = sizeOf(spec.shape);
        if (!plan || n === 0) return fallback(ctx);
        const device = ctx.device as WasmDevice;
        const wasm = device.module;
        const operands = [a!, b!].map((t) =>
          (t.storage as TypedArray).subarray(0, sizeOf(t.shape)),
        );
        const [[aRow, aCol], [bRow, bCol]] = plan.strides as [[number, number], [number, number]];
        const out = wasm.withOperands(operands, [n * 4], ([pa, pb, po]) => {
          wasm.exports.binaryF32(code, pa!, aRow, aCol, pb!, bRow, bCol, po!, plan.rows, plan.cols);
          return wasm.f32(po!, n).slice();
        });
        return [device.upload(out)];
      },
    });
  });
}
