import { assertTensor } from '../check-args.js';
import { type DType, isFloatDType } from '../dtype.js';
import { fail } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Every entry is a Tensor, except that the names in `optional` may be undefined. */
export function assertTensors(
  where: string,
  values: Readonly<Record<string, unknown>>,
  optional: readonly string[] = [],
): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined && optional.includes(name)) continue;
    assertTensor(where, name, value);
  }
}

export function describe(t: Tensor): string {
  return `${formatShape(t.shape)} ${t.dtype}`;
}

export function assertFloat(where: string, name: string, t: Tensor): void {
  if (!isFloatDType(t.dtype)) {
    fail(where, `${name} must be float32 or float16, got ${describe(t)}; cast it first`);
  }
}

export function assertDTypeIn(
  where: string,
  name: string,
  t: Tensor,
  allowed: readonly DType[],
): void {
  if (!allowed.includes(t.dtype)) {
    fail(where, `${name} must have dtype ${allowed.join(' or ')}, got ${describe(t)}`);
  }
}

export function assertSameDType(
  where: string,
  names: readonly string[],
  tensors: readonly Tensor[],
): void {
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) {
      fail(
        where,
        `dtypes differ: ${names[0]} ${describe(first)} vs ${names[i]} ${describe(t)}; cast one first`,
      );
    }
  });
}

export function assertRank(where: string, name: string, t: Tensor, minRank: number): void {
  if (t.rank < minRank) fail(where, `${name} must have rank >= ${minRank}, got ${describe(t)}`);
}
