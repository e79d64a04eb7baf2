import { fail } from './errors.js';

/** Element types. `float16` is stored at half precision and computed in float32. */
export type DType = 'float32' | 'float16' | 'int32' | 'uint32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float16', 'int32', 'uint32', 'bool'];

/**
 * What `data()` returns for each dtype. `float16` values come back widened to a
 * `Float32Array` (every float16 value is exactly representable in float32); `bool` comes
 * back as 0 / 1 bytes.
 */
export interface DataTypeMap {
  float32: Float32Array;
  float16: Float32Array;
  int32: Int32Array;
  uint32: Uint32Array;
  bool: Uint8Array;
}

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array;

/** Data accepted when creating a tensor. */
export type TensorLike = TypedArray | Float64Array | readonly number[] | readonly boolean[];

export function isFloatDType(dtype: DType): dtype is 'float32' | 'float16' {
  return dtype === 'float32' || dtype === 'float16';
}

export function assertDType(where: string, dtype: string): asserts dtype is DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    fail(where, `unknown dtype "${dtype}"; expected one of ${DTYPES.join(', ')}`);
  }
}

/** Bytes per element as stored on a device (float16 packs two to a 32-bit word on WebGPU). */
export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float16':
      return 2;
    case 'bool':
      return 1;
    default:
      return 4;
  }
}

export function allocateTypedArray<D extends DType>(dtype: D, size: number): DataTypeMap[D] {
  switch (dtype) {
    case 'float32':
    case 'float16':
      return new Float32Array(size) as DataTypeMap[D];
    case 'int32':
      return new Int32Array(size) as DataTypeMap[D];
    case 'uint32':
      return new Uint32Array(size) as DataTypeMap[D];
    case 'bool':
      return new Uint8Array(size) as DataTypeMap[D];
  }
  return fail('allocate', `unknown dtype "${dtype}"`);
}

// float16 <-> float32 conversion (IEEE 754 binary16, round to nearest even), used by the
// CPU backend to round float16 results and by safetensors to read and write F16.
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function float16BitsFromNumber(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf / NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the implicit leading one in, rounding to nearest even.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
    return sign | (halfMantissa + (roundUp ? 1 : 0));
  }
  const halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1);
  // A carry out of the mantissa correctly bumps the exponent (and can reach infinity).
  return sign | ((halfExponent << 10) + halfMantissa + (roundUp ? 1 : 0));
}

export function numberFromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Round a number to the nearest float16 value. */
export function roundToFloat16(value: number): number {
  return numberFromFloat16Bits(float16BitsFromNumber(value));
}

/** bfloat16 is the top half of a float32; safetensors BF16 weights widen to float32. */
export function numberFromBFloat16Bits(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0]!;
}
