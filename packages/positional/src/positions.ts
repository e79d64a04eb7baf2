import { type Device, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/** Position ids: an int32 tensor, or host integers. */
export type PositionIds = Tensor | readonly number[] | Int32Array;

/** Resolved ids: host values (checked) or a caller's tensor, with the shape the op gets. */
export interface ResolvedPositions {
  readonly shape: readonly number[];
  readonly host?: Int32Array;
  readonly tensor?: Tensor;
  /** Largest id, when it is known on the host. */
  readonly max?: number;
}

/**
 * Check host ids: integers in [0, 2³¹), and below `limit` when given (a table's length).
 * Returns them as an Int32Array with their maximum.
 */
export function checkIds(
  where: string,
  values: ArrayLike<number>,
  limit?: number,
): { ids: Int32Array; max: number } {
  const ids = new Int32Array(values.length);
  let max = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      fail(where, `position ${i} is ${v}; positions must be non-negative integers`);
    }
    if (limit !== undefined && v >= limit) {
      fail(where, `position ${i} is ${v}, past the ${limit} positions of the table`);
    }
    ids[i] = v;
    if (v > max) max = v;
  }
  return { ids, max };
}

/** Ids of a tensor: checked when its device lets the host read it synchronously (the CPU). */
export function checkIdTensor(where: string, t: Tensor, limit?: number): number | undefined {
  if (t.dtype !== 'int32') {
    fail(where, `positions must be an int32 tensor, got [${t.shape.join(', ')}] ${t.dtype}`);
  }
  if (!t.device.readSync) return undefined;
  return checkIds(where, t.dataSync(), limit).max;
}

/**
 * Positions for x `[..., S, D]`: `[S]`, or `[B, S]` with B = x.shape[0]. Host arrays are flat
 * (S or B·S values); omitted positions are `offset + 0..S-1`.
 */
export function resolvePositions(
  where: string,
  x: Tensor,
  options: { positions?: PositionIds; offset?: number },
): ResolvedPositions {
  const seq = x.shape[x.rank - 2]!;
  const { positions, offset = 0 } = options;
  if (positions === undefined) {
    if (!Number.isInteger(offset) || offset < 0) {
      fail(where, `offset must be a non-negative integer, got ${offset}`);
    }
    const ids = Int32Array.from({ length: seq }, (_, i) => offset + i);
    return { shape: [seq], host: ids, max: offset + seq - 1 };
  }
  if (options.offset !== undefined) fail(where, 'give positions or offset, not both');
  if (isIdTensor(positions)) {
    return { shape: positions.shape, tensor: positions, max: checkIdTensor(where, positions) };
  }
  const batch = x.rank >= 3 ? x.shape[0]! : undefined;
  let shape: number[];
  if (positions.length === seq) shape = [seq];
  else if (batch !== undefined && positions.length === batch * seq) shape = [batch, seq];
  else {
    fail(
      where,
      `${positions.length} positions do not fit x [${x.shape.join(', ')}]: give ${seq} (one per row) or ${batch ?? 'B'} × ${seq} (per batch entry)`,
    );
  }
  const { ids, max } = checkIds(where, positions);
  return { shape, host: ids, max };
}

/** The ids as a tensor on `device`; `owned` when it was created here and must be disposed. */
export function positionTensor(
  resolved: ResolvedPositions,
  device: Device,
): { tensor: Tensor; owned: boolean } {
  if (resolved.tensor) return { tensor: resolved.tensor, owned: false };
  return {
    tensor: tensor(resolved.host!, resolved.shape, { dtype: 'int32', device }),
    owned: true,
  };
}

/** Whether ids are a tensor rather than host integers. */
export function isIdTensor(value: PositionIds): value is Tensor {
  return !Array.isArray(value) && !(value instanceof Int32Array);
}
