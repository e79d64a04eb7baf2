/**
 * Every error qkv throws for bad input is a `QkvError` whose message starts with the op or
 * function that rejected it and names the offending shapes, dtypes or values.
 */
export class QkvError extends Error {
  override readonly name = 'QkvError';
}

export function fail(where: string, message: string): never {
  throw new QkvError(`${where}: ${message}`);
}
