import { fail } from '../errors.js';
import { escapeRegExp } from '../rust-regex.js';

/** A component object of tokenizer.json (`{ "type": "...", ...fields }`). */
export type Component = { type?: string } & Record<string, unknown>;

export function asComponent(where: string, value: unknown): Component {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, `expected an object, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return value as Component;
}

export function unsupported(where: string, kind: string, c: Component): never {
  return fail(where, `unsupported ${kind} type ${JSON.stringify(c.type)}`);
}

/** `{ "String": "x" }` or `{ "Regex": "..." }` as a global RegExp (Rust regex syntax for Regex). */
export function patternOf(where: string, p: unknown, compile: (source: string) => RegExp): RegExp {
  const o = asComponent(where, p);
  if (typeof o.String === 'string') return new RegExp(escapeRegExp(o.String), 'gu');
  if (typeof o.Regex === 'string') return compile(o.Regex);
  return fail(where, `pattern must be {String} or {Regex}, got ${JSON.stringify(p)}`);
}
