import { QkvError } from '@qkv/tensor';

/** Throw a `QkvError` whose message starts with the function that rejected the input. */
export function fail(where: string, message: string): never {
  throw new QkvError(`${where}: ${message}`);
}
