import { fail } from './errors.js';
import type { Tensor } from './tensor.js';

// Tensors hold device memory that JavaScript's garbage collector cannot see, so lifetimes are
// explicit: `dispose()`, or `scope(fn)`, which disposes what `fn` made except what it returns.

const live = new Set<Tensor>();
const scopes: Set<Tensor>[] = [];

/** @internal */
export function trackTensor(t: Tensor): void {
  live.add(t);
  scopes[scopes.length - 1]?.add(t);
}

/** @internal */
export function untrackTensor(t: Tensor): void {
  live.delete(t);
  for (const s of scopes) s.delete(t);
}

/** Number of tensors created and not yet disposed. */
export function liveTensors(): number {
  return live.size;
}

function collectTensors(value: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, seen);
  }
}

export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [tensorBrand]?: true })[tensorBrand] === true
  );
}

/** @internal Marks Tensor instances without an import cycle. */
export const tensorBrand: unique symbol = Symbol.for('qkv.tensor');

/**
 * Run `fn` and dispose every tensor it created, except the tensors in its return value
 * (found in arrays, plain objects and Maps), which move to the enclosing scope.
 * `fn` must be synchronous: work after an `await` would escape the scope.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of created) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of created) t.dispose();
    fail('scope', 'the function returned a Promise; scope() takes a synchronous function');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of created) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exempt a tensor from disposal by the scopes it was created in. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
