import { noGpuTest } from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import { cpu, type Device, liveTensors, randn, scope, type Tensor } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';

/**
 * The bad-input suite: per public package a table of invalid calls, each with the error class
 * it must throw and the words its message must contain (the argument's name, what was
 * expected, what was given). Adding a case is adding one row.
 */

/** What a row's call gets: the device under test, and `own` for objects it must dispose. */
export interface RowContext {
  readonly device: Device;
  own<T extends { dispose(): void }>(x: T): T;
}

// biome-ignore lint/suspicious/noExplicitAny: any error constructor (QkvError, TypeError, ...).
export type ErrorClass = new (...args: any[]) => Error;

/** `[label, call, error class, words the message must contain]`. */
export type Row = readonly [
  label: string,
  call: (ctx: RowContext) => unknown,
  error: ErrorClass,
  words: readonly string[],
];

/**
 * Run a row's call; return what it threw (undefined if nothing). Tensors the call made are
 * disposed (it runs in a `scope`), and so is whatever it passed to `own`.
 */
async function thrownBy(call: Row[1], device: Device): Promise<unknown> {
  const owned: { dispose(): void }[] = [];
  const ctx: RowContext = {
    device,
    own: (x) => {
      owned.push(x);
      return x;
    },
  };
  try {
    let pending: unknown;
    scope(() => {
      pending = call(ctx);
    });
    await pending;
  } catch (error) {
    return error;
  } finally {
    for (const x of owned) x.dispose();
  }
  return undefined;
}

function rowTests(rows: readonly Row[], device: () => Device): void {
  for (const [label, call, errorClass, words] of rows) {
    it(label, async () => {
      const d = device();
      const tensorsBefore = liveTensors();
      const buffersBefore = d.liveBuffers();
      const error = await thrownBy(call, d);
      expect(error, `${label}: the call must throw ${errorClass.name}`).toBeInstanceOf(errorClass);
      const message = (error as Error).message;
      for (const word of words) expect(message, label).toContain(word);
      expect(liveTensors(), 'live tensors after the failed call').toBe(tensorsBefore);
      expect(d.liveBuffers(), 'live device buffers after the failed call').toBe(buffersBefore);
    });
  }
}

/** Random q, k and v of `shape` on `device`, for attention rows. */
export function randomQkv(device: Device, shape: readonly number[]): [Tensor, Tensor, Tensor] {
  return [randn(shape, { device }), randn(shape, { device }), randn(shape, { device })];
}

/** The rows on the CPU device. */
export function describeBadInput(name: string, rows: readonly Row[]): void {
  describe(`${name}: bad input (cpu)`, () => rowTests(rows, cpu));
}

/**
 * The rows on a WebGPU device (SwiftShader without a GPU). Without an adapter they fail under
 * `QKV_REQUIRE_GPU=1` and are skipped, with the reason, otherwise.
 */
export async function describeGpuBadInput(name: string, rows: readonly Row[]): Promise<void> {
  let device: Device | undefined;
  let reason = '';
  try {
    device = await createWebGPUDevice();
  } catch (error) {
    reason = (error as Error).message;
  }
  describe(`${name}: bad input (webgpu)`, () => {
    if (device) {
      const d = device;
      rowTests(rows, () => d);
    } else noGpuTest('every row', reason);
  });
}
