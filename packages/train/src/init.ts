import { type Device, type DType, rand, randn, type Tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/** Where parameters are created and how they are seeded. */
export interface InitOptions {
  device?: Device;
  dtype?: DType;
  /** Same seed, same values, on every device. */
  seed?: number;
}

/** `N(0, std²)` (`torch.nn.init.normal_`). */
export function normalInit(
  shape: readonly number[],
  std: number,
  options: InitOptions = {},
): Tensor {
  return randn(shape, { ...options, std });
}

/** `U(-bound, bound)` (`torch.nn.init.uniform_`). */
export function uniformInit(
  shape: readonly number[],
  bound: number,
  options: InitOptions = {},
): Tensor {
  return rand(shape, { ...options, low: -bound, high: bound });
}

/** fan_in and fan_out of a `[out, in, ...]` weight, as PyTorch computes them. */
function fans(where: string, shape: readonly number[]): [number, number] {
  if (shape.length < 2) fail(where, `needs a weight of rank >= 2, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

/** Glorot & Bengio 2010: `U(±gain·√(6 / (fan_in + fan_out)))` (`xavier_uniform_`). */
export function xavierUniform(
  shape: readonly number[],
  options: InitOptions & { gain?: number } = {},
): Tensor {
  const [fanIn, fanOut] = fans('xavierUniform', shape);
  return uniformInit(shape, (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)), options);
}

/**
 * He et al. 2015 for a ReLU-free linear layer as `nn.Linear` initialises its weight:
 * `kaiming_uniform_(a=√5)`, i.e. `U(±1/√fan_in)`.
 */
export function linearInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  const [fanIn] = fans('linearInit', shape);
  return uniformInit(shape, 1 / Math.sqrt(fanIn), options);
}
