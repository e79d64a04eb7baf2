import {
  concat,
  cpuData,
  type Device,
  type DType,
  formatShape,
  getDefaultDevice,
  keep,
  narrow,
  scope,
  type Tensor,
  zeros,
} from '@qkv/tensor';
import { fail } from './errors.js';
import { validateKvCacheOptions } from './validate-args.js';

export interface KVCacheOptions {
  batch: number;
  numKvHeads: number;
  headDim: number;
  /** Width of the cached values (default `headDim`). */
  valueDim?: number;
  /** Positions preallocated up front (default 16); doubled whenever an append overflows. */
  capacity?: number;
  dtype?: DType;
  device?: Device;
  /**
   * How appends write: `in-place` into the preallocated storage (the CPU's host-visible
   * memory), or `copy`, which rebuilds the storage with `concat` (for backends without an
   * in-place write). Default: `in-place` on the CPU, `copy` elsewhere.
   */
  writeMode?: 'in-place' | 'copy';
}

/**
 * Keys and values of the positions seen so far, for incremental decoding: preallocated
 * `[batch, Hkv, capacity, D]` storage of which the first `length` positions are valid, grown
 * by doubling. Usage is append-then-attend: `append(k, v)` the new positions, then attend
 * with `kvLength: cache.length` and bottom-right causal alignment, which gives the same
 * outputs as the full causal forward over every position.
 */
export class KVCache {
  readonly batch: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly dtype: DType;
  readonly device: Device;
  readonly writeMode: 'in-place' | 'copy';
  #keys: Tensor;
  #values: Tensor;
  #length = 0;

  constructor(options: KVCacheOptions) {
    validateKvCacheOptions(options);
    const { batch, numKvHeads, headDim, capacity = 16, dtype = 'float32' } = options;
    this.batch = batch;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.valueDim = options.valueDim ?? headDim;
    this.dtype = dtype;
    this.device = options.device ?? getDefaultDevice();
    this.writeMode = options.writeMode ?? (this.device.backend === 'cpu' ? 'in-place' : 'copy');
    for (const [name, v] of Object.entries({ batch, numKvHeads, headDim, capacity })) {
      if (!Number.isInteger(v) || v < 1)
        fail('KVCache', `${name} must be a positive integer, got ${v}`);
    }
    this.#keys = this.#storage(capacity, headDim);
    this.#values = this.#storage(capacity, this.valueDim);
  }

  /** Valid positions. */
  get length(): number {
    return this.#length;
  }

  /** Preallocated positions. */
  get capacity(): number {
    return this.#keys.shape[2]!;
  }

  /** The whole key storage `[batch, Hkv, capacity, D]`; only the first `length` rows count. */
  get keys(): Tensor {
    return this.#keys;
  }

  get values(): Tensor {
    return this.#values;
  }

  /**
   * Append new positions: k `[batch, Hkv, T, D]`, v `[batch, Hkv, T, Dv]`. Everything is
   * checked before anything is written, so an append that throws leaves the cache as it was.
   */
  append(k: Tensor, v: Tensor): void {
    const t = k.shape[2] ?? 0;
    const expectK = [this.batch, this.numKvHeads, t, this.headDim];
    const expectV = [this.batch, this.numKvHeads, t, this.valueDim];
    const matches = (x: Tensor, shape: number[]) =>
      x.rank === 4 && x.shape.every((d, i) => d === shape[i]);
    if (!matches(k, expectK) || !matches(v, expectV)) {
      fail(
        'KVCache.append',
        `expected k ${formatShape(expectK)} and v ${formatShape(expectV)} (batch, kv heads, new positions, dim), got k ${formatShape(k.shape)} and v ${formatShape(v.shape)}`,
      );
    }
    if (k.dtype !== this.dtype || v.dtype !== this.dtype) {
      fail('KVCache.append', `k and v must be ${this.dtype}, got ${k.dtype} and ${v.dtype}`);
    }
    if (k.device !== this.device || v.device !== this.device) {
      fail('KVCache.append', `k and v must be on ${this.device.name}, the cache's device`);
    }
    let capacity = this.capacity;
    while (capacity < this.#length + t) capacity *= 2;
    if (capacity !== this.capacity) this.#grow(capacity);
    if (this.writeMode === 'in-place') {
      writeRows(this.#keys, k, this.#length);
      writeRows(this.#values, v, this.#length);
    } else {
      this.#keys = this.#rebuilt(this.#keys, k, this.capacity);
      this.#values = this.#rebuilt(this.#values, v, this.capacity);
    }
    this.#length += t;
  }

  /** Forget every position (the storage is kept for reuse). */
  reset(): void {
    this.#length = 0;
  }

  /**
   * Keep only the first `length` positions (Hugging Face's `DynamicCache.crop`): undoes
   * appends, e.g. rejected speculative tokens. The storage is kept.
   */
  crop(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.#length) {
      fail('KVCache.crop', `length must be an integer in [0, ${this.#length}], got ${length}`);
    }
    this.#length = length;
  }

  dispose(): void {
    this.#keys.dispose();
    this.#values.dispose();
  }

  #storage(capacity: number, dim: number): Tensor {
    const shape = [this.batch, this.numKvHeads, capacity, dim];
    return keep(zeros(shape, { dtype: this.dtype, device: this.device }));
  }

  /** Move the valid rows into storage of `capacity` positions. */
  #grow(capacity: number): void {
    const grown = (old: Tensor, dim: number) => {
      if (this.writeMode === 'copy') return this.#rebuilt(old, undefined, capacity);
      const next = this.#storage(capacity, dim);
      const valid = narrow(old, 2, 0, this.#length);
      writeRows(next, valid, 0);
      valid.dispose();
      old.dispose();
      return next;
    };
    this.#keys = grown(this.#keys, this.headDim);
    this.#values = grown(this.#values, this.valueDim);
  }

  /** `[valid rows, new rows, zero padding]` as new storage; disposes the old one. */
  #rebuilt(old: Tensor, rows: Tensor | undefined, capacity: number): Tensor {
    const next = scope(() => {
      const added = rows?.shape[2] ?? 0;
      const dim = old.shape[3]!;
      const parts = [narrow(old, 2, 0, this.#length)];
      if (rows) parts.push(rows);
      const pad = capacity - this.#length - added;
      if (pad > 0) {
        parts.push(
          zeros([this.batch, this.numKvHeads, pad, dim], {
            dtype: this.dtype,
            device: this.device,
          }),
        );
      }
      return concat(parts, 2);
    });
    old.dispose();
    return keep(next);
  }
}

/** Copy `rows` `[N, H, T, D]` into CPU storage `[N, H, capacity, D]` at position `at`. */
function writeRows(storage: Tensor, rows: Tensor, at: number): void {
  const [n, h, capacity, d] = storage.shape as [number, number, number, number];
  const t = rows.shape[2]!;
  const dst = cpuData(storage);
  const src = cpuData(rows);
  for (let block = 0; block < n * h; block++) {
    dst.set(src.subarray(block * t * d, (block + 1) * t * d), (block * capacity + at) * d);
  }
}
