import { cpuData, formatShape, sizeOf, stridesOf, Tensor } from '@qkv/tensor';
import { fail } from './errors.js';
import { Expr, type Operand, toExpr } from './expr.js';

/** Host data a mask expression may index: segment ids, global-token flags, bias tables. */
export type IndexedData = Tensor | Int32Array | Uint32Array | Uint8Array | Float32Array | number[];

const WHERE = 'indexed';

/**
 * A small read-only table that mask and score expressions index with `.at(...)`. It becomes
 * a storage buffer in WGSL and a typed array on the CPU. Indices are clamped to each
 * dimension on every backend, so a lookup never reads out of bounds.
 */
export class IndexedTensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly elementType: 'i32' | 'f32';
  readonly data: Int32Array | Float32Array;
  #sparseTable: { min: Float64Array[]; max: Float64Array[] } | undefined;

  constructor(
    readonly name: string,
    data: IndexedData,
    shape?: readonly number[],
  ) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      fail(WHERE, `name "${name}" must be a letter followed by letters, digits or _`);
    }
    const converted = convert(name, data);
    this.data = converted;
    this.elementType = converted instanceof Float32Array ? 'f32' : 'i32';
    this.shape = Object.freeze([
      ...(shape ?? (data instanceof Tensor ? data.shape : [converted.length])),
    ]);
    if (this.shape.length === 0) fail(WHERE, `${name} must have at least one dimension`);
    if (sizeOf(this.shape) !== converted.length || converted.length === 0) {
      fail(
        WHERE,
        `${name} has ${converted.length} elements, which does not fill shape ${formatShape(this.shape)} (empty tables are not allowed)`,
      );
    }
    this.strides = Object.freeze(stridesOf(this.shape));
  }

  /** The element at the given indices (one per dimension), clamped into range. */
  at(...indices: Operand[]): Expr {
    if (indices.length !== this.shape.length) {
      fail(
        WHERE,
        `${this.name} has shape ${formatShape(this.shape)} and needs ${this.shape.length} indices, got ${indices.length}`,
      );
    }
    const exprs = indices.map(toExpr);
    for (const e of exprs) {
      if (e.type !== 'i32') fail(WHERE, `${this.name} must be indexed by i32 values, got ${e}`);
    }
    return new Expr(this.elementType, { op: 'at', tensor: this, indices: exprs });
  }

  /** Row-major offset of clamped indices. */
  offset(indices: readonly number[]): number {
    let flat = 0;
    for (let d = 0; d < indices.length; d++) {
      const last = this.shape[d]! - 1;
      flat += Math.min(Math.max(indices[d]!, 0), last) * this.strides[d]!;
    }
    return flat;
  }

  /**
   * Smallest and largest element with a flat offset in [lo, hi], in O(1) after an
   * O(n log n) sparse table built on first use (Bentley's range-minimum structure).
   */
  rangeMinMax(lo: number, hi: number): [number, number] {
    const t = (this.#sparseTable ??= buildSparseTable(this.data));
    const level = 31 - Math.clz32(hi - lo + 1);
    const span = 1 << level;
    const mins = t.min[level]!;
    const maxs = t.max[level]!;
    return [Math.min(mins[lo]!, mins[hi - span + 1]!), Math.max(maxs[lo]!, maxs[hi - span + 1]!)];
  }
}

/** Wrap host data as a table for mask expressions; `shape` defaults to the data's. */
export function indexed(name: string, data: IndexedData, shape?: readonly number[]): IndexedTensor {
  return new IndexedTensor(name, data, shape);
}

function convert(name: string, data: IndexedData): Int32Array | Float32Array {
  if (data instanceof Tensor) {
    if (data.device.backend !== 'cpu') {
      fail(WHERE, `${name} must be a CPU tensor (got one on ${data.device.name}); read it first`);
    }
    return convert(name, cpuData(data) as Int32Array | Float32Array);
  }
  if (data instanceof Float32Array) return Float32Array.from(data);
  if (data instanceof Int32Array) return Int32Array.from(data);
  if (data instanceof Uint8Array) return Int32Array.from(data);
  if (data instanceof Uint32Array) {
    for (const v of data) if (v >= 2 ** 31) fail(WHERE, `${name} holds ${v}, beyond i32`);
    return Int32Array.from(data);
  }
  if (data.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
    return Int32Array.from(data);
  }
  for (const v of data) if (!Number.isFinite(v)) fail(WHERE, `${name} holds ${v}`);
  return Float32Array.from(data);
}

function buildSparseTable(data: Int32Array | Float32Array): {
  min: Float64Array[];
  max: Float64Array[];
} {
  const min = [Float64Array.from(data)];
  const max = [Float64Array.from(data)];
  for (let span = 2; span <= data.length; span *= 2) {
    const prevMin = min[min.length - 1]!;
    const prevMax = max[max.length - 1]!;
    const half = span / 2;
    const n = data.length - span + 1;
    const nextMin = new Float64Array(n);
    const nextMax = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      nextMin[i] = Math.min(prevMin[i]!, prevMin[i + half]!);
      nextMax[i] = Math.max(prevMax[i]!, prevMax[i + half]!);
    }
    min.push(nextMin);
    max.push(nextMax);
  }
  return { min, max };
}
