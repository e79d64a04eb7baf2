import { type CreationOptions, type Tensor, tensor } from '@qkv/tensor';
import { fail } from './errors.js';

export interface SinusoidalOptions extends CreationOptions<'float32' | 'float16'> {
  /** The wavelength base, 10000 in Vaswani et al. 2017. */
  base?: number;
  /** Position of the first row (e.g. a KV-cache length). Default 0. */
  offset?: number;
}

/**
 * The fixed positional encoding of Vaswani et al. 2017 (§3.5), `[length, dim]`:
 * PE(pos, 2i) = sin(pos / base^(2i/dim)), PE(pos, 2i+1) = cos(pos / base^(2i/dim)).
 * Evaluated in float64 and stored in the requested dtype (float32 by default).
 */
export function sinusoidalTable(
  length: number,
  dim: number,
  options: SinusoidalOptions = {},
): Tensor {
  const where = 'sinusoidalTable';
  const { base = 10000, offset = 0, dtype = 'float32', device } = options;
  if (!Number.isInteger(length) || length < 0) {
    fail(where, `length must be a non-negative integer, got ${length}`);
  }
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) {
    fail(where, `dim must be an even integer >= 2 (sin / cos pairs), got ${dim}`);
  }
  if (!(base > 0) || !Number.isFinite(base))
    fail(where, `base must be a finite number > 0, got ${base}`);
  if (!Number.isInteger(offset) || offset < 0) {
    fail(where, `offset must be a non-negative integer, got ${offset}`);
  }
  const values = new Float64Array(length * dim);
  for (let i = 0; i < dim / 2; i++) {
    const invFreq = 1 / base ** ((2 * i) / dim);
    for (let p = 0; p < length; p++) {
      const angle = (offset + p) * invFreq;
      values[p * dim + 2 * i] = Math.sin(angle);
      values[p * dim + 2 * i + 1] = Math.cos(angle);
    }
  }
  return tensor(values, [length, dim], { dtype, ...(device ? { device } : {}) });
}
