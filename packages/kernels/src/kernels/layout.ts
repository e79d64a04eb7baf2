import type {
  CastAttrs,
  ConcatAttrs,
  DType,
  GatherAttrs,
  PermuteAttrs,
  SliceAttrs,
  Tensor,
} from '@qkv/tensor';
import { sizeOf, stridesOf } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { paramBlock } from '../wgsl/params.js';
import { literal, stridedOffsets, valueType } from '../wgsl/shader.js';
import { runMap } from './map-kernel.js';
import { operand, registerGpuKernel } from './register.js';

/** Copy `x` through strides: output element i reads `base + Σ coord[d] * strides[d]`. */
function stridedCopy(
  op: string,
  device: WebGPUDevice,
  x: Tensor,
  outShape: readonly number[],
  strides: readonly number[],
  base: number,
): GpuStorage {
  const rank = outShape.length;
  return runMap(
    device,
    {
      kernel: op,
      inputs: [operand(x)],
      outDType: x.dtype,
      params: paramBlock(
        { shape: ['u32', rank], strides: ['u32', rank], base: 'u32' },
        { shape: outShape, strides, base },
      ),
      body: `${stridedOffsets(rank, 'i', 'shape', [{ strides: 'strides', base: 'base' }])}\n  return load_x0(off0);`,
    },
    sizeOf(outShape),
  );
}

/** Inputs bound per concat pass; longer lists are joined in several passes. */
const CONCAT_FANIN = 4;

/** Join `parts` along `axis` (output dims split as outer x total x inner). */
function concatPass(
  device: WebGPUDevice,
  parts: readonly { storage: GpuStorage; dtype: DType; length: number }[],
  outer: number,
  inner: number,
): GpuStorage {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const lines: string[] = [
    '  let inner = params.inner;',
    '  let total = params.total;',
    '  let o = i / (total * inner);',
    '  let a = (i / inner) % total;',
    '  let r = i % inner;',
  ];
  // Part j covers axis positions [start_j, start_j + length_j).
  parts.forEach((_, j) => {
    const start = `params.starts[${j}]`;
    const length = `params.lengths[${j}]`;
    lines.push(
      `  if (a < ${start} + ${length}) { return load_x${j}((o * ${length} + a - ${start}) * inner + r); }`,
    );
  });
  lines.push(`  return ${literal(valueType(parts[0]!.dtype), 0)};`);
  const lengths = parts.map((p) => p.length);
  const starts = lengths.map((_, j) => lengths.slice(0, j).reduce((s, n) => s + n, 0));
  const n = parts.length;
  return runMap(
    device,
    {
      kernel: 'concat',
      inputs: parts.map(({ storage, dtype }) => ({ storage, dtype })),
      outDType: parts[0]!.dtype,
      params: paramBlock(
        { inner: 'u32', total: 'u32', starts: ['u32', n], lengths: ['u32', n] },
        { inner, total, starts, lengths },
      ),
      body: lines.join('\n'),
    },
    outer * total * inner,
  );
}

/** float -> integer as the CPU does: truncate, NaN -> 0, saturate at the type's range. */
function castExpression(from: DType, to: DType): string {
  const v = 'v';
  if (from === to) return v;
  // !(v == 0) rather than v != 0: some drivers compile != as an ordered compare, false for NaN.
  if (to === 'bool') return valueType(from) === 'f32' ? `u32(!(${v} == 0.0))` : `u32(${v} != 0)`;
  if (from === 'bool') return `${valueType(to)}(${v})`;
  const fromType = valueType(from);
  switch (to) {
    case 'float32':
    case 'float16':
      return `f32(${v})`;
    case 'int32':
      if (fromType === 'f32') {
        return `select(select(i32(${v}), 2147483647, ${v} >= 2147483648.0), 0, is_nan(${v}))`;
      }
      return `i32(min(${v}, 2147483647u))`;
    case 'uint32':
      if (fromType === 'f32') {
        return `select(select(u32(max(${v}, 0.0)), 4294967295u, ${v} >= 4294967296.0), 0u, is_nan(${v}))`;
      }
      return `u32(max(${v}, 0))`;
  }
}

export function registerLayoutKernels(): void {
  registerGpuKernel<PermuteAttrs>('permute', ({ inputs, attrs, outputs }, device) => {
    const x = inputs[0]!;
    const inStrides = stridesOf(x.shape);
    const strides = attrs.perm.map((p) => inStrides[p]!);
    return [stridedCopy('permute', device, x, outputs[0]!.shape, strides, 0)];
  });

  registerGpuKernel<SliceAttrs>('slice', ({ inputs, attrs, outputs }, device) => {
    const x = inputs[0]!;
    const inStrides = stridesOf(x.shape);
    const base = attrs.starts.reduce((p, s, d) => p + s * inStrides[d]!, 0);
    const strides = attrs.steps.map((s, d) => s * inStrides[d]!);
    return [stridedCopy('slice', device, x, outputs[0]!.shape, strides, base)];
  });

  registerGpuKernel<ConcatAttrs>('concat', ({ inputs, attrs, outputs }, device) => {
    const shape = outputs[0]!.shape;
    const outer = sizeOf(shape.slice(0, attrs.axis));
    const inner = sizeOf(shape.slice(attrs.axis + 1));
    let parts = inputs
      .filter((t) => t.size > 0)
      .map((t) => ({ ...operand(t), length: t.shape[attrs.axis]!, owned: false }));
    // Join groups of CONCAT_FANIN until one pass takes the rest; intermediates are freed.
    while (parts.length > CONCAT_FANIN) {
      const group = parts.slice(0, CONCAT_FANIN);
      const joined = concatPass(device, group, outer, inner);
      for (const p of group) if (p.owned) device.release(p.storage);
      const length = group.reduce((s, p) => s + p.length, 0);
      parts = [
        { storage: joined, dtype: group[0]!.dtype, length, owned: true },
        ...parts.slice(CONCAT_FANIN),
      ];
    }
    const result = concatPass(device, parts, outer, inner);
    for (const p of parts) if (p.owned) device.release(p.storage);
    return [result];
  });

  registerGpuKernel<GatherAttrs>('gather', ({ inputs, attrs, outputs }, device) => {
    const [x, indices] = inputs;
    const length = x!.shape[attrs.axis]!;
    const inner = sizeOf(x!.shape.slice(attrs.axis + 1));
    const count = indices!.size;
    const zero = literal(valueType(x!.dtype), 0);
    // An index outside [-length, length) cannot throw from a kernel: it reads zeros.
    const index =
      indices!.dtype === 'int32'
        ? `let raw = load_x1(k);
  if (raw < -i32(length) || raw >= i32(length)) { return ${zero}; }
  let row = u32(select(raw, raw + i32(length), raw < 0));`
        : `let row = load_x1(k);
  if (row >= length) { return ${zero}; }`;
    const body = `  let length = params.length;
  let inner = params.inner;
  let count = params.indices;
  let r = i % inner;
  let k = (i / inner) % count;
  let o = i / (inner * count);
  ${index}
  return load_x0((o * length + row) * inner + r);`;
    const storage = runMap(
      device,
      {
        kernel: 'gather',
        inputs: [operand(x!), operand(indices!)],
        outDType: x!.dtype,
        params: paramBlock(
          { length: 'u32', inner: 'u32', indices: 'u32' },
          { length, inner, indices: count },
        ),
        body,
      },
      sizeOf(outputs[0]!.shape),
    );
    return [storage];
  });

  registerGpuKernel<CastAttrs>('cast', ({ inputs, attrs }, device) => {
    const x = inputs[0]!;
    const storage = runMap(
      device,
      {
        kernel: 'cast',
        inputs: [operand(x)],
        outDType: attrs.dtype,
        body: `  let v = load_x0(i);\n  return ${castExpression(x.dtype, attrs.dtype)};`,
      },
      x.size,
    );
    return [storage];
  });
}
