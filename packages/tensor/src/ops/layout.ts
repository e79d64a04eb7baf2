import { describeValue } from '../check-args.js';
import { assertDType, type DType } from '../dtype.js';
import { fail } from '../errors.js';
import { defineOp, runOp } from '../registry.js';
import { formatShape, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDTypeIn, assertSameDType, assertTensors, describe } from './validate.js';

export interface PermuteAttrs {
  /** Output dimension i is input dimension `perm[i]`. */
  readonly perm: readonly number[];
}

export const PermuteOp = defineOp<PermuteAttrs>({
  name: 'permute',
  inputNames: ['x'],
  infer([x], { perm }) {
    const sorted = [...perm].sort((p, q) => p - q);
    if (perm.length !== x!.rank || sorted.some((p, i) => p !== i)) {
      fail(
        'permute',
        `[${perm.join(', ')}] is not a permutation of the ${x!.rank} dimensions of x ${describe(x!)}`,
      );
    }
    return [{ shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype }];
  },
});

/** Reorder dimensions (`torch.permute`); negative entries count from the end. Runs a copy. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const normalized = perm.map((p) => normalizeAxis('permute', p, x.rank));
  return runOp(PermuteOp, [x], { perm: normalized })[0]!;
}

/** Swap two dimensions (`torch.transpose`). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  assertTensors('transpose', { x });
  const perm = x.shape.map((_, i) => i);
  const a = normalizeAxis('transpose', dim0, x.rank);
  const b = normalizeAxis('transpose', dim1, x.rank);
  [perm[a], perm[b]] = [perm[b]!, perm[a]!];
  return runOp(PermuteOp, [x], { perm })[0]!;
}

export interface ConcatAttrs {
  readonly axis: number;
}

export const ConcatOp = defineOp<ConcatAttrs>({
  name: 'concat',
  inputNames: ['tensors'],
  infer(tensors, { axis }) {
    const first = tensors[0]!;
    assertSameDType(
      'concat',
      tensors.map((_, i) => `tensors[${i}]`),
      tensors,
    );
    let total = 0;
    tensors.forEach((t, i) => {
      const mismatch =
        t.rank !== first.rank || t.shape.some((d, j) => j !== axis && d !== first.shape[j]);
      if (mismatch) {
        fail(
          'concat',
          `tensors[${i}] ${describe(t)} does not match tensors[0] ${describe(first)} outside axis ${axis}`,
        );
      }
      total += t.shape[axis]!;
    });
    return [{ shape: first.shape.map((d, j) => (j === axis ? total : d)), dtype: first.dtype }];
  },
});

/** Join tensors along an existing axis (`torch.cat`). */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors)) {
    fail('concat', `tensors must be an array of Tensors, got ${describeValue(tensors)}`);
  }
  if (tensors.length === 0) fail('concat', 'needs at least one tensor');
  const first = tensors[0]!;
  if (first.rank === 0) fail('concat', 'cannot concatenate 0-d tensors; reshape them to [1] first');
  return runOp(ConcatOp, tensors, { axis: normalizeAxis('concat', axis, first.rank) })[0]!;
}

export interface SliceAttrs {
  /** Per dimension: first index taken, and the step between taken indices (> 0). */
  readonly starts: readonly number[];
  readonly steps: readonly number[];
  /** The output shape (how many indices each dimension takes). */
  readonly sizes: readonly number[];
}

export const SliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  inputNames: ['x'],
  infer([x], { starts, steps, sizes }) {
    if (starts.length !== x!.rank || steps.length !== x!.rank || sizes.length !== x!.rank) {
      fail('slice', `needs one range per dimension of x ${describe(x!)}`);
    }
    sizes.forEach((size, i) => {
      const last = starts[i]! + (size - 1) * steps[i]!;
      if (size > 0 && (starts[i]! < 0 || last >= x!.shape[i]!)) {
        fail(
          'slice',
          `dimension ${i} reads indices ${starts[i]}..${last} outside x ${describe(x!)}`,
        );
      }
    });
    return [{ shape: sizes, dtype: x!.dtype }];
  },
});

/** `[start, end)` or `[start, end, step]`; `null` takes the whole dimension. */
export type SliceRange = readonly [number, number] | readonly [number, number, number] | null;

/**
 * Python-style slicing: `slice(x, [null, [0, 4], [1, -1]])` is `x[:, 0:4, 1:-1]`. Negative
 * indices count from the end, out-of-range bounds clamp, the step must be positive. Missing
 * trailing ranges take whole dimensions. Runs a copy.
 */
export function slice(x: Tensor, ranges: readonly SliceRange[]): Tensor {
  assertTensors('slice', { x });
  if (ranges.length > x.rank)
    fail('slice', `${ranges.length} ranges for x ${describe(x)} of rank ${x.rank}`);
  const starts: number[] = [];
  const steps: number[] = [];
  const sizes: number[] = [];
  x.shape.forEach((dim, i) => {
    const range = ranges[i] ?? null;
    const [rawStart, rawEnd, step = 1] = range ?? [0, dim, 1];
    if (!Number.isInteger(step) || step <= 0)
      fail('slice', `step must be a positive integer, got ${step} for dimension ${i}`);
    if (!Number.isInteger(rawStart) || !Number.isInteger(rawEnd)) {
      fail('slice', `bounds must be integers, got [${rawStart}, ${rawEnd}] for dimension ${i}`);
    }
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const start = clamp(rawStart);
    const end = clamp(rawEnd);
    starts.push(start);
    steps.push(step);
    sizes.push(Math.max(0, Math.ceil((end - start) / step)));
  });
  return runOp(SliceOp, [x], { starts, steps, sizes })[0]!;
}

/** `length` entries of one dimension starting at `start` (`torch.narrow`). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  assertTensors('narrow', { x });
  const a = normalizeAxis('narrow', axis, x.rank);
  const dim = x.shape[a]!;
  const s = start < 0 ? start + dim : start;
  if (s < 0 || length < 0 || s + length > dim) {
    fail(
      'narrow',
      `[${start}, ${start} + ${length}) is outside dimension ${axis} (size ${dim}) of x ${describe(x)}`,
    );
  }
  const ranges: SliceRange[] = x.shape.map((_, i) => (i === a ? [s, s + length] : null));
  return slice(x, ranges);
}

export interface GatherAttrs {
  readonly axis: number;
}

export const GatherOp = defineOp<GatherAttrs>({
  name: 'gather',
  inputNames: ['x', 'indices'],
  infer([x, indices], { axis }) {
    assertDTypeIn('gather', 'indices', indices!, ['int32', 'uint32']);
    if (axis < 0 || axis >= x!.rank)
      fail('gather', `axis ${axis} is out of range for x ${describe(x!)}`);
    const shape = [...x!.shape.slice(0, axis), ...indices!.shape, ...x!.shape.slice(axis + 1)];
    return [{ shape, dtype: x!.dtype }];
  },
});

/**
 * Select entries of `x` along `axis` by integer `indices` (`torch.index_select` generalised to
 * any index shape; with axis 0 it is an embedding lookup). The result's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from the end.
 * An index outside `[-n, n)` throws on the CPU; WebGPU cannot throw from a kernel and
 * writes zeros for it instead.
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  if (x.rank === 0) fail('gather', `x ${describe(x)} must have at least one dimension`);
  return runOp(GatherOp, [x, indices], { axis: normalizeAxis('gather', axis, x.rank) })[0]!;
}

export interface CastAttrs {
  readonly dtype: DType;
}

export const CastOp = defineOp<CastAttrs>({
  name: 'cast',
  inputNames: ['x'],
  infer([x], { dtype }) {
    assertDType('cast', dtype);
    return [{ shape: x!.shape, dtype }];
  },
});

/**
 * Convert to another dtype. Floats to integers truncate toward zero (NaN becomes 0, values
 * outside the range saturate); anything to bool is `x != 0`; bool to numbers is 0 / 1.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return runOp(CastOp, [x], { dtype })[0]!;
}

export function assertShape(
  where: string,
  name: string,
  t: Tensor,
  shape: readonly number[],
): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail(where, `${name} must have shape ${formatShape(shape)}, got ${describe(t)}`);
  }
}
