import {
  allocateTypedArray,
  type PermuteAttrs,
  registerKernel,
  sizeOf,
  stridesOf,
  type TypedArray,
} from '@qkv/tensor';

/**
 * out = x with its axes reordered (output axis d is input axis perm[d]), any dtype: a
 * strided copy whose innermost loop runs over the output's last axis. Axes of size 1 are
 * dropped and neighbours that stay contiguous in the input are merged first, so the usual
 * head split `[B, T, H, D] -> [B, H, T, D]` copies rows of D values.
 */
export function permuteInto(
  x: TypedArray,
  shape: readonly number[],
  perm: readonly number[],
  out: TypedArray,
): void {
  const inStrides = stridesOf(shape);
  const dims: number[] = [];
  const strides: number[] = [];
  for (const p of perm) {
    const size = shape[p]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides[last] === inStrides[p]! * size) {
      dims[last]! *= size;
      strides[last] = inStrides[p]!;
    } else {
      dims.push(size);
      strides.push(inStrides[p]!);
    }
  }
  const n = dims.pop() ?? 1;
  const step = strides.pop() ?? 1;
  const outer = dims.reduce((a, d) => a * d, 1);
  const counter = new Array<number>(dims.length).fill(0);
  let from = 0;
  for (let o = 0, to = 0; o < outer; o++, to += n) {
    // A subarray costs an object: only long contiguous runs are worth one.
    if (step === 1 && n >= 256) out.set(x.subarray(from, from + n), to);
    else for (let i = 0, at = from; i < n; i++, at += step) out[to + i] = x[at]!;
    // Odometer over the outer axes.
    for (let d = dims.length - 1; d >= 0; d--) {
      from += strides[d]!;
      if (++counter[d]! < dims[d]!) break;
      from -= strides[d]! * dims[d]!;
      counter[d] = 0;
    }
  }
}

/** `permute` on the device's typed arrays, without the reference's per-element indexing. */
export function registerPermuteKernel(): void {
  registerKernel<PermuteAttrs>({
    op: 'permute',
    backend: 'wasm',
    run({ inputs, attrs, outputs, device }) {
      const x = inputs[0]!;
      const spec = outputs[0]!;
      const out = allocateTypedArray(spec.dtype, sizeOf(spec.shape));
      permuteInto(x.storage as TypedArray, x.shape, attrs.perm, out);
      return [device.upload(out, spec.dtype)];
    },
  });
}
