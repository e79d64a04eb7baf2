import type { Device } from './device.js';
import type { DType } from './dtype.js';
import { fail } from './errors.js';
import { isTensor } from './lifetime.js';
import { formatShape, type Shape, sizeOf } from './shape.js';
import type { Tensor } from './tensor.js';

/**
 * Checks of the kind of value a public function was given, so a wrong kind (an array where a
 * Tensor goes, a string where a Device goes) gets an error naming the argument, what was
 * expected and what was given, rather than a TypeError from deep inside.
 */

/** What a value is, for an error message: `[2, 3] float32 tensor`, `the string "webgpu"`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${value}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'function':
      return `a function${value.name ? ` (${value.name})` : ''}`;
    case 'symbol':
      return 'a symbol';
  }
  if (isTensor(value)) {
    const t = value;
    return `a ${formatShape(t.shape)} ${t.dtype} tensor`;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `value` is a qkv Tensor (not an array, typed array or undefined). */
export function assertTensor(where: string, name: string, value: unknown): asserts value is Tensor {
  if (!isTensor(value)) {
    const hint = ArrayBuffer.isView(value) || Array.isArray(value) ? '; wrap it with tensor()' : '';
    fail(where, `${name} must be a Tensor, got ${describeValue(value)}${hint}`);
  }
}

/** `value` is a Device object (what `cpu()` or `createWebGPUDevice()` return). */
export function assertDevice(where: string, name: string, value: unknown): asserts value is Device {
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Device).backend === 'string' &&
    typeof (value as Device).upload === 'function';
  if (!ok) {
    const hint =
      typeof value === 'function'
        ? `; call it (${value.name || 'device'}())`
        : typeof value === 'string'
          ? '; pass the device object (cpu(), or await createWebGPUDevice() from @qkv/kernels), not its name'
          : '';
    fail(where, `${name} must be a Device, got ${describeValue(value)}${hint}`);
  }
}

/** The most elements one tensor may hold: a typed array's and a WebGPU buffer's index range. */
export const MAX_ELEMENTS = 2 ** 32 - 1;

/** A tensor of `shape` can be allocated at all (a clear error rather than a bare RangeError). */
export function assertAllocatable(where: string, shape: Shape, dtype: DType): void {
  const size = sizeOf(shape);
  if (size > MAX_ELEMENTS) {
    fail(
      where,
      `shape ${formatShape(shape)} ${dtype} has ${size} elements, more than the ${MAX_ELEMENTS} one tensor can hold`,
    );
  }
}
