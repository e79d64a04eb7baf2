import { describe, expect, it } from 'vitest';
import {
  float16BitsFromNumber,
  numberFromBFloat16Bits,
  numberFromFloat16Bits,
  roundToFloat16,
} from './dtype.js';

describe('float16 conversion', () => {
  it('round-trips every finite half-precision bit pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 0x1f && (bits & 0x3ff) !== 0) continue; // NaN payloads are not preserved
      expect(float16BitsFromNumber(numberFromFloat16Bits(bits))).toBe(bits);
    }
  });

  it('decodes by the IEEE 754 binary16 formula', () => {
    expect(numberFromFloat16Bits(0x3c00)).toBe(1);
    expect(numberFromFloat16Bits(0xc000)).toBe(-2);
    expect(numberFromFloat16Bits(0x7bff)).toBe(65504);
    expect(numberFromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(numberFromFloat16Bits(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(numberFromFloat16Bits(0x7e00)).toBeNaN();
    expect(Object.is(numberFromFloat16Bits(0x8000), -0)).toBe(true);
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    const ulpAtOne = 2 ** -10;
    expect(roundToFloat16(1 + ulpAtOne / 2)).toBe(1); // tie, 1 is even
    expect(roundToFloat16(1 + (3 * ulpAtOne) / 2)).toBe(1 + 2 * ulpAtOne); // tie, rounds to even
    expect(roundToFloat16(1 + ulpAtOne * 0.51)).toBe(1 + ulpAtOne);
    expect(roundToFloat16(65519)).toBe(65504);
    expect(roundToFloat16(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToFloat16(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even (0)
    expect(roundToFloat16(2 ** -25 * 1.01)).toBe(2 ** -24);
    expect(roundToFloat16(Number.NaN)).toBeNaN();
  });

  it('widens bfloat16 as the top half of a float32', () => {
    expect(numberFromBFloat16Bits(0x3f80)).toBe(1);
    expect(numberFromBFloat16Bits(0xc040)).toBe(-3);
    expect(numberFromBFloat16Bits(0x7f80)).toBe(Number.POSITIVE_INFINITY);
  });
});
