/**
 * Switches for tests. With `poisonOutputs` on, backends fill every output buffer with a
 * poison value (NaN for floats, a sentinel for integers) before the kernel runs, so an
 * element the kernel forgets to write fails the comparison instead of passing as zero.
 */
export const debugFlags = {
  poisonOutputs: false,
};

/** The value an unwritten element of `dtype` holds when `poisonOutputs` is on. */
export function poisonValue(dtype: string): number {
  if (dtype === 'float32' || dtype === 'float16') return Number.NaN;
  if (dtype === 'bool') return 0xcd;
  if (dtype === 'uint32') return 0xdeadbeef;
  return -0x21524111; // 0xdeadbeef as int32
}
