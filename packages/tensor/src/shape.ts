import { fail } from './errors.js';

export type Shape = readonly number[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

export function assertValidShape(where: string, shape: Shape): void {
  if (!Array.isArray(shape)) {
    fail(
      where,
      `shape must be an array of non-negative integers, got ${typeof shape} ${String(shape)}`,
    );
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      fail(where, `shape ${formatShape(shape)} has a dimension that is not a non-negative integer`);
    }
  }
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy / PyTorch broadcasting: align trailing dimensions; a dimension of 1 stretches. */
export function broadcastShapes(where: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i]!;
      const o = out[offset + i]!;
      if (d === o || d === 1) continue;
      if (o === 1) out[offset + i] = d;
      else
        fail(
          where,
          `shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together (dimension ${i - shape.length} is ${o} vs ${d})`,
        );
    }
  }
  return out;
}

/**
 * Strides that read an input of `shape` as if broadcast to `outShape`: 0 along dimensions the
 * input repeats.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : strides[j]!;
  });
}

/** Accept negative axes like PyTorch (`-1` is the last). */
export function normalizeAxis(where: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1)) {
    fail(where, `axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + Math.max(rank, 1) : axis;
}

/** Resolve a reshape target with at most one `-1`. */
export function resolveReshape(where: string, from: Shape, to: Shape): number[] {
  const size = sizeOf(from);
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1) fail(where, `target shape ${formatShape(to)} has more than one -1`);
  for (const d of to) {
    if (d !== -1 && (!Number.isInteger(d) || d < 0)) {
      fail(where, `target shape ${formatShape(to)} has an invalid dimension ${d}`);
    }
  }
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => {
    if (d !== -1) return d;
    if (known === 0 || size % known !== 0) {
      fail(where, `cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(to)}`);
    }
    return size / known;
  });
  if (sizeOf(out) !== size) {
    fail(where, `cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(to)}`);
  }
  return out;
}
