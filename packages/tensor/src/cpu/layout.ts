import { fail } from '../errors.js';
import type {
  CastAttrs,
  ConcatAttrs,
  GatherAttrs,
  PermuteAttrs,
  SliceAttrs,
} from '../ops/layout.js';
import { formatShape, stridesOf } from '../shape.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { splitAtAxis, walkStrided } from './indexing.js';

/** float -> integer: truncate toward zero, NaN -> 0, saturate at the type's range. */
function toInteger(v: number, lo: number, hi: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.min(Math.max(Math.trunc(v), lo), hi);
}

export function registerLayoutKernels(): void {
  registerCpuKernel<PermuteAttrs>('permute', ({ inputs, attrs, outputs }, [out]) => {
    const x = inputs[0]!;
    const data = cpuData(x);
    // Output dimension d walks input dimension perm[d].
    const inStrides = stridesOf(x.shape);
    const permuted = attrs.perm.map((p) => inStrides[p]!);
    walkStrided(outputs[0]!.shape, [permuted], [0], (i, [offset]) => {
      out![i] = data[offset!]!;
    });
  });

  registerCpuKernel<ConcatAttrs>('concat', ({ inputs, attrs, outputs }, [out]) => {
    const [outer, total, inner] = splitAtAxis(outputs[0]!.shape, attrs.axis);
    let axisOffset = 0;
    for (const t of inputs) {
      const data = cpuData(t);
      const length = t.shape[attrs.axis]!;
      for (let o = 0; o < outer; o++) {
        const src = o * length * inner;
        out!.set(data.subarray(src, src + length * inner), (o * total + axisOffset) * inner);
      }
      axisOffset += length;
    }
  });

  registerCpuKernel<SliceAttrs>('slice', ({ inputs, attrs, outputs }, [out]) => {
    const x = inputs[0]!;
    const data = cpuData(x);
    const inStrides = stridesOf(x.shape);
    const base = attrs.starts.reduce((p, s, d) => p + s * inStrides[d]!, 0);
    const stepped = attrs.steps.map((s, d) => s * inStrides[d]!);
    walkStrided(outputs[0]!.shape, [stepped], [base], (i, [offset]) => {
      out![i] = data[offset!]!;
    });
  });

  registerCpuKernel<GatherAttrs>('gather', ({ inputs, attrs }, [out]) => {
    const [x, indices] = inputs;
    const data = cpuData(x!);
    const idx = cpuData(indices!);
    const [outer, length, inner] = splitAtAxis(x!.shape, attrs.axis);
    for (let k = 0; k < idx.length; k++) {
      const raw = idx[k]!;
      if (raw < -length || raw >= length) {
        fail(
          'gather',
          `index ${raw} at position ${k} is out of range for dimension ${attrs.axis} (size ${length}) of x ${formatShape(x!.shape)}`,
        );
      }
    }
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < idx.length; k++) {
        const raw = idx[k]!;
        const row = raw < 0 ? raw + length : raw;
        const src = (o * length + row) * inner;
        out!.set(data.subarray(src, src + inner), (o * idx.length + k) * inner);
      }
    }
  });

  registerCpuKernel<CastAttrs>('cast', ({ inputs, attrs }, [out]) => {
    const x = cpuData(inputs[0]!);
    const convert: (v: number) => number =
      attrs.dtype === 'bool'
        ? (v) => (v !== 0 ? 1 : 0)
        : attrs.dtype === 'int32'
          ? (v) => toInteger(v, -(2 ** 31), 2 ** 31 - 1)
          : attrs.dtype === 'uint32'
            ? (v) => toInteger(v, 0, 2 ** 32 - 1)
            : (v) => v;
    for (let i = 0; i < x.length; i++) out![i] = convert(x[i]!);
  });
}
