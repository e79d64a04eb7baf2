import { describeValue, QkvError } from '@qkv/tensor';

/** Throw a QkvError whose message starts with the function that rejected the input. */
export function fail(where: string, message: string): never {
  throw new QkvError(`${where}: ${message}`);
}

/** `options` is an object (what it should hold is `expected`), not undefined or a number. */
export function assertOptions(where: string, options: unknown, expected: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(where, `options must be an object with ${expected}, got ${describeValue(options)}`);
  }
}
