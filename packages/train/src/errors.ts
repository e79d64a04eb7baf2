import { QkvError } from '@qkv/tensor';

/** Throw a QkvError whose message starts with where it came from. */
export function fail(where: string, message: string): never {
  throw new QkvError(`${where}: ${message}`);
}
