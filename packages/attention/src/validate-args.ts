import { assertMaskOrBlockMask } from '@qkv/sparse';
import {
  assertDevice,
  assertTensor,
  type Device,
  describeValue,
  formatShape,
  getDefaultDevice,
  type Tensor,
} from '@qkv/tensor';
import { fail } from './errors.js';

/**
 * The kinds of the arguments of this package's public calls, checked before any work or state
 * change, so a wrong kind of value gets an error naming the argument, what was expected and
 * what was given (rather than a TypeError, or an error about an internal op's argument).
 */

/**
 * `options` as a record of its fields: an object holding `expected`, or, when nothing is
 * required (`expected` undefined), absent.
 */
function optionsRecord(
  where: string,
  options: unknown,
  expected?: string,
): Record<string, unknown> {
  const isObject = typeof options === 'object' && options !== null && !Array.isArray(options);
  if (!isObject && (expected !== undefined || options !== undefined)) {
    const holding = expected === undefined ? '' : ` with ${expected}`;
    fail(where, `options must be an object${holding}, got ${describeValue(options)}`);
  }
  return (options ?? {}) as Record<string, unknown>;
}

/** A mask is a Tensor of dtype bool or a float dtype (added to the scores). */
function assertMask(where: string, name: string, value: unknown, boolMeaning: string): void {
  if (value === undefined) return;
  assertTensor(where, name, value);
  const t = value as Tensor;
  if (t.dtype !== 'bool' && t.dtype !== 'float32' && t.dtype !== 'float16') {
    fail(
      where,
      `${name} must be bool (${boolMeaning}) or float (added to the scores), got ${formatShape(t.shape)} ${t.dtype}; convert it with cast()`,
    );
  }
}

function assertNumber(
  where: string,
  name: string,
  value: unknown,
  test?: (x: number) => boolean,
  expected = 'a finite number',
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || (test && !test(value))) {
    fail(where, `${name} must be ${expected}, got ${describeValue(value)}`);
  }
}

/** A `sparseMask`, when given: a mask or a block mask from @qkv/sparse. */
function assertSparseMask(where: string, value: unknown): void {
  if (value !== undefined) assertMaskOrBlockMask(where, 'sparseMask', value);
}

/** q, k, v and the options of `scaledDotProductAttention`. */
export function validateSdpaArgs(q: unknown, k: unknown, v: unknown, options: unknown): void {
  const where = 'scaledDotProductAttention';
  for (const [name, t] of Object.entries({ q, k, v })) assertTensor(where, name, t);
  const o = optionsRecord(where, options);
  assertMask(where, 'attnMask', o.attnMask, 'true = may attend');
  const bias = o.bias;
  if (bias !== undefined) {
    assertTensor(where, 'bias', bias);
    if (bias.dtype !== 'float32' && bias.dtype !== 'float16') {
      fail(where, `bias must be a float tensor (added to the scores), got ${describeValue(bias)}`);
    }
  }
  if (o.alibiSlopes !== undefined) assertTensor(where, 'alibiSlopes', o.alibiSlopes);
  assertNumber(where, 'scale', o.scale);
  assertNumber(where, 'softcap', o.softcap, (x) => x >= 0, 'a finite number >= 0 (0 = off)');
  assertNumber(where, 'dropoutP', o.dropoutP, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  assertSparseMask(where, o.sparseMask);
}

/** The options of `new MultiHeadAttention(options)`. */
export function validateMhaOptions(options: unknown): void {
  const where = 'MultiHeadAttention';
  const o = optionsRecord(where, options, 'at least { embedDim, numHeads }');
  for (const name of ['embedDim', 'numHeads']) {
    if (!Number.isInteger(o[name]) || (o[name] as number) < 1) {
      fail(where, `options.${name} must be a positive integer, got ${describeValue(o[name])}`);
    }
  }
  if (o.device !== undefined) assertDevice(where, 'options.device', o.device);
  assertNumber(where, 'options.dropout', o.dropout, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
}

/** query, key, value and the options of `MultiHeadAttention.forward`. */
export function validateMhaForwardArgs(
  query: unknown,
  key: unknown,
  value: unknown,
  options: unknown,
): void {
  const where = 'MultiHeadAttention.forward';
  for (const [name, t] of Object.entries({ query, key, value })) assertTensor(where, name, t);
  const o = optionsRecord(where, options);
  assertMask(where, 'attnMask', o.attnMask, 'true = masked out');
  assertMask(where, 'keyPaddingMask', o.keyPaddingMask, 'true = padding');
  assertSparseMask(where, o.sparseMask);
}

/** The options of `new KVCache(options)`; returns the device the cache will use. */
export function validateKvCacheOptions(options: unknown): Device {
  const where = 'KVCache';
  const o = optionsRecord(where, options, '{ batch, numKvHeads, headDim }');
  if (o.device !== undefined) assertDevice(where, 'options.device', o.device);
  const device = (o.device as Device | undefined) ?? getDefaultDevice();
  const mode = o.writeMode;
  if (mode !== undefined && mode !== 'in-place' && mode !== 'copy') {
    fail(where, `options.writeMode must be 'in-place' or 'copy', got ${describeValue(mode)}`);
  }
  if (mode === 'in-place' && device.backend !== 'cpu') {
    fail(
      where,
      `options.writeMode 'in-place' writes into host-visible memory, which only the cpu device has; ${device.name} needs 'copy' (the default there)`,
    );
  }
  return device;
}
