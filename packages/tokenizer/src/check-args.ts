import { fail } from './errors.js';

/**
 * Argument checks of the public encode / decode calls, so a wrong kind of value gets an error
 * naming the argument, what was expected and what was given, instead of a silent `[]` or a
 * raw TypeError from deep inside.
 */

/**
 * What a value is, for an error message: `the number 123`, `an array of 2`, `null`. (The
 * tokenizer depends on no other qkv package, so it does not share @qkv/tensor's version.)
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'function':
      return `a function${value.name ? ` (${value.name})` : ''}`;
    case 'symbol':
      return `a symbol`;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

export function checkText(where: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string')
    fail(where, `${name} must be a string, got ${describeValue(value)}`);
}

export function checkTexts(
  where: string,
  name: string,
  value: unknown,
): asserts value is readonly string[] {
  if (!Array.isArray(value)) {
    fail(where, `${name} must be an array of strings, got ${describeValue(value)}`);
  }
  value.forEach((text, i) => {
    if (typeof text !== 'string') {
      fail(where, `${name}[${i}] must be a string, got ${describeValue(text)}`);
    }
  });
}

/** `options` may be absent or a plain object. */
export function checkOptions(where: string, value: unknown): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    fail(where, `options must be an object, got ${describeValue(value)}`);
  }
}

/** `allowedSpecial` / `disallowedSpecial`: `'all'` or a list of special-token strings. */
export function checkSpecialSet(where: string, name: string, value: unknown): void {
  if (value === 'all') return;
  const iterable =
    typeof value === 'object' && value !== null && Symbol.iterator in (value as object);
  if (!iterable) {
    fail(where, `${name} must be 'all' or a list of special tokens, got ${describeValue(value)}`);
  }
  for (const token of value as Iterable<unknown>) {
    if (typeof token !== 'string') {
      fail(where, `${name} must list special tokens as strings, got ${describeValue(token)}`);
    }
  }
}

/**
 * Token ids: an array or typed array of integer numbers. Strings of digits and bigints are
 * refused, as tiktoken refuses them, rather than read as ids.
 */
export function checkIds(where: string, value: unknown): asserts value is ArrayLike<number> {
  const typed = ArrayBuffer.isView(value) && !(value instanceof DataView);
  if (!Array.isArray(value) && !typed) {
    fail(where, `ids must be an array of integer token ids, got ${describeValue(value)}`);
  }
  const ids = value as ArrayLike<unknown>;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      const hint = typeof id === 'bigint' ? ' (convert it with Number(id))' : '';
      fail(where, `ids[${i}] must be an integer token id, got ${describeValue(id)}${hint}`);
    }
  }
}
