import { assertAllocatable, assertDevice, assertTensor } from './check-args.js';
import { type Device, getDefaultDevice } from './device.js';
import {
  allocateTypedArray,
  assertDType,
  type DataTypeMap,
  type DType,
  isFloatDType,
  roundToFloat16,
  type TensorLike,
  type TypedArray,
} from './dtype.js';
import { fail } from './errors.js';
import { randomSource } from './random.js';
import { assertValidShape, formatShape, type Shape, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

export interface CreationOptions<D extends DType = DType> {
  dtype?: D;
  device?: Device;
}

function inferDType(data: TensorLike | number | boolean): DType {
  if (typeof data === 'boolean' || data instanceof Uint8Array) return 'bool';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (Array.isArray(data) && data.length > 0 && typeof data[0] === 'boolean') return 'bool';
  return 'float32';
}

/** Convert host values to the typed array a dtype is stored in, checking they fit. */
export function toTypedArray<D extends DType>(
  where: string,
  values: ArrayLike<number | boolean>,
  dtype: D,
): DataTypeMap[D] {
  const out = allocateTypedArray(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const raw = values[i]!;
    const v = typeof raw === 'boolean' ? Number(raw) : raw;
    if (typeof v !== 'number') fail(where, `element ${i} is ${typeof v}, not a number or boolean`);
    switch (dtype) {
      case 'float16':
        out[i] = roundToFloat16(v);
        break;
      case 'bool':
        if (Number.isNaN(v)) fail(where, `element ${i} is NaN, which is not a bool`);
        out[i] = v !== 0 ? 1 : 0;
        break;
      case 'int32':
      case 'uint32': {
        const [lo, hi] = dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
        if (!Number.isInteger(v) || v < lo || v > hi) {
          fail(where, `element ${i} (${v}) is not a ${dtype} value`);
        }
        out[i] = v;
        break;
      }
      default:
        out[i] = v;
    }
  }
  return out;
}

/**
 * A tensor from host data. `shape` defaults to a 1-D tensor of the data's length (a plain
 * number gives a 0-d tensor). The dtype is inferred when not given: booleans and
 * `Uint8Array` give `bool`, `Int32Array` `int32`, `Uint32Array` `uint32`, anything else
 * `float32`.
 */
export function tensor<D extends DType = 'float32'>(
  data: TensorLike | number | boolean,
  shape?: Shape,
  options: CreationOptions<D> = {},
): Tensor<D> {
  const dtype = (options.dtype ?? inferDType(data)) as D;
  assertDType('tensor', dtype);
  const values: ArrayLike<number | boolean> =
    typeof data === 'number' || typeof data === 'boolean' ? [data] : data;
  const resolvedShape =
    shape ?? (typeof data === 'number' || typeof data === 'boolean' ? [] : [values.length]);
  assertValidShape('tensor', resolvedShape);
  if (sizeOf(resolvedShape) !== values.length) {
    fail(
      'tensor',
      `shape ${formatShape(resolvedShape)} needs ${sizeOf(resolvedShape)} elements but the data has ${values.length}`,
    );
  }
  return fromTypedArray(
    toTypedArray('tensor', values, dtype),
    resolvedShape,
    dtype,
    options.device,
  );
}

/** @internal Wrap an already converted typed array (no copy on the CPU). */
export function fromTypedArray<D extends DType>(
  data: TypedArray,
  shape: Shape,
  dtype: D,
  device: Device = getDefaultDevice(),
  where = 'tensor',
): Tensor<D> {
  assertDevice(where, 'options.device', device);
  return new Tensor(shape, dtype, device, device.upload(data, dtype));
}

export function full<D extends DType = 'float32'>(
  shape: Shape,
  value: number | boolean,
  options: CreationOptions<D> = {},
): Tensor<D> {
  const dtype = (options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')) as D;
  return filled('full', shape, value, dtype, options.device);
}

export function zeros<D extends DType = 'float32'>(
  shape: Shape,
  options: CreationOptions<D> = {},
): Tensor<D> {
  return filled('zeros', shape, 0, options.dtype ?? ('float32' as D), options.device);
}

export function ones<D extends DType = 'float32'>(
  shape: Shape,
  options: CreationOptions<D> = {},
): Tensor<D> {
  return filled('ones', shape, 1, options.dtype ?? ('float32' as D), options.device);
}

/** A tensor of `shape` holding `value` everywhere; errors name `where`. */
function filled<D extends DType>(
  where: string,
  shape: Shape,
  value: number | boolean,
  dtype: D,
  device: Device | undefined,
): Tensor<D> {
  assertDType(where, dtype);
  assertValidShape(where, shape);
  assertAllocatable(where, shape, dtype);
  const one = toTypedArray(where, [value], dtype);
  const data = allocateTypedArray(dtype, sizeOf(shape));
  data.fill(one[0]!);
  return fromTypedArray(data, shape, dtype, device, where);
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`, like `torch.arange`;
 * `arange(n)` counts from 0. The dtype defaults to `int32` when every argument is an
 * integer and to `float32` otherwise.
 */
export function arange<D extends DType>(
  start: number,
  end?: number,
  step = 1,
  options: CreationOptions<D> = {},
): Tensor<D> {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step))
    fail('arange', `step must be a finite non-zero number, got ${step}`);
  if (!Number.isFinite(start) || !Number.isFinite(end))
    fail('arange', `start and end must be finite, got ${start} and ${end}`);
  const allInts = [start, end, step].every(Number.isInteger);
  const dtype = (options.dtype ?? (allInts ? 'int32' : 'float32')) as D;
  const count = Math.max(0, Math.ceil((end - start) / step));
  assertAllocatable('arange', [count], dtype);
  const values = Array.from({ length: count }, (_, i) => start + i * step);
  return fromTypedArray(
    toTypedArray('arange', values, dtype),
    [count],
    dtype,
    options.device,
    'arange',
  );
}

export interface RandomOptions<D extends DType = DType> extends CreationOptions<D> {
  /** Same seed, same numbers, on every device. Without it the global generator is used. */
  seed?: number;
}

function randomTensor<D extends DType>(
  where: string,
  shape: Shape,
  options: RandomOptions<D>,
  sample: (next: () => number) => number,
  draw: 'float' | 'normal',
): Tensor<D> {
  const dtype = (options.dtype ?? 'float32') as D;
  if (!isFloatDType(dtype)) fail(where, `dtype must be float32 or float16, got ${dtype}`);
  assertValidShape(where, shape);
  assertAllocatable(where, shape, dtype);
  const rng = randomSource(options.seed);
  const next = draw === 'float' ? () => rng.nextFloat() : () => rng.nextNormal();
  const values = Array.from({ length: sizeOf(shape) }, () => sample(next));
  return fromTypedArray(toTypedArray(where, values, dtype), shape, dtype, options.device, where);
}

/** Normal samples, `mean + std * N(0, 1)`. */
export function randn<D extends DType = 'float32'>(
  shape: Shape,
  options: RandomOptions<D> & { mean?: number; std?: number } = {},
): Tensor<D> {
  const { mean = 0, std = 1 } = options;
  return randomTensor('randn', shape, options, (next) => mean + std * next(), 'normal');
}

/** Uniform samples in `[low, high)`. */
export function rand<D extends DType = 'float32'>(
  shape: Shape,
  options: RandomOptions<D> & { low?: number; high?: number } = {},
): Tensor<D> {
  const { low = 0, high = 1 } = options;
  return randomTensor('rand', shape, options, (next) => low + (high - low) * next(), 'float');
}

/** A copy of `t` on another device. */
export async function toDevice<D extends DType>(t: Tensor<D>, device: Device): Promise<Tensor<D>> {
  assertTensor('toDevice', 't', t);
  assertDevice('toDevice', 'device', device);
  const data = await t.data();
  return fromTypedArray(data, t.shape, t.dtype, device);
}
