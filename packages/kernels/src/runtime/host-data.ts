import {
  type DType,
  float16BitsFromNumber,
  numberFromFloat16Bits,
  type TypedArray,
} from '@qkv/tensor';

/**
 * Storage layout on WebGPU: float32, int32 and uint32 take one 32-bit word per element, bool
 * one u32 (0 / 1) per element, float16 two elements per u32 (element 2k in the low half, as
 * `pack2x16float` packs them).
 */
export function storageBytes(dtype: DType, size: number): number {
  return dtype === 'float16' ? Math.ceil(size / 2) * 4 : size * 4;
}

/** Host values (already in the dtype's typed array) as the words the GPU stores. */
export function toStorageWords(data: TypedArray, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float16': {
      const halves = new Uint16Array(Math.ceil(data.length / 2) * 2);
      for (let i = 0; i < data.length; i++) halves[i] = float16BitsFromNumber(data[i]!);
      return halves;
    }
    case 'bool':
      return Uint32Array.from(data);
    default:
      return data;
  }
}

/** The first `size` elements of stored words, as the typed array `data()` returns. */
export function fromStorageWords(words: ArrayBuffer, dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(words, 0, size).slice();
    case 'int32':
      return new Int32Array(words, 0, size).slice();
    case 'uint32':
      return new Uint32Array(words, 0, size).slice();
    case 'bool':
      return Uint8Array.from(new Uint32Array(words, 0, size), (v) => (v !== 0 ? 1 : 0));
    case 'float16': {
      const halves = new Uint16Array(words, 0, size);
      return Float32Array.from(halves, numberFromFloat16Bits);
    }
  }
}
