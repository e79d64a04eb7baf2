import { QkvError } from '@qkv/tensor';

/** Throw a `QkvError` whose message starts with the function that rejected the input. */
export function fail(where: string, message: string): never {
  throw new QkvError(`${where}: ${message}`);
}

/** What a wrong-kind argument is, for messages: `undefined`, `an array`, `a Float32Array`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return `the function ${value.name || '(anonymous)'}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value !== 'object') return `the ${typeof value} ${String(value)}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'a plain object';
}
