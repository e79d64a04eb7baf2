import {
  BINARY_OPS,
  type BinaryOpName,
  broadcastStrides,
  type Shape,
  shapesEqual,
  type Tensor,
  UNARY_OPS,
  type UnaryOpName,
} from '@qkv/tensor';
import { NO_PARAMS, type ParamBlock, type ParamFields } from '../wgsl/params.js';
import { stridedOffsets, type ValueType, valueType } from '../wgsl/shader.js';
import { runMap } from './map-kernel.js';
import { MATH_WGSL } from './math-wgsl.js';
import { operand, registerGpuKernel } from './register.js';

type Formula1 = (x: string, t: ValueType) => string;
type Formula2 = (a: string, b: string, t: ValueType) => string;

/** Each unary op in WGSL, mirroring the CPU backend's `UNARY_FORMULAS`. */
export const UNARY_WGSL: Record<UnaryOpName, Formula1> = {
  neg: (x) => `-${x}`,
  abs: (x) => `abs(${x})`,
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  rsqrt: (x) => `1.0 / sqrt(${x})`,
  sin: (x) => `qkv_sincos(${x}).x`,
  cos: (x) => `qkv_sincos(${x}).y`,
  tanh: (x) => `qkv_tanh(${x})`,
  sigmoid: (x) => `1.0 / (1.0 + exp(-${x}))`,
  // NaN stays NaN, as on the CPU.
  relu: (x, t) =>
    t === 'f32' ? `select(0.0, ${x}, ${x} > 0.0 || is_nan(${x}))` : `max(${x}, ${t}(0))`,
  gelu: (x) => `0.5 * ${x} * (1.0 + qkv_erf(${x} * 0.7071067811865476))`,
  // Hendrycks & Gimpel 2016, tanh approximation (PyTorch approximate='tanh'); √(2/π).
  geluTanh: (x) =>
    `0.5 * ${x} * (1.0 + qkv_tanh(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x})))`,
  silu: (x) => `${x} / (1.0 + exp(-${x}))`,
  logicalNot: (x) => `u32(${x} == 0u)`,
};

const nanAware =
  (f: string): Formula2 =>
  (a, b, t) =>
    t === 'f32'
      ? `select(${f}(${a}, ${b}), nan(), is_nan(${a}) || is_nan(${b}))`
      : `${f}(${a}, ${b})`;

/** Each binary op in WGSL, mirroring `BINARY_FORMULAS`; comparisons give 0u / 1u. */
export const BINARY_WGSL: Record<BinaryOpName, Formula2> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  pow: (a, b) => `qkv_pow(${a}, ${b})`,
  // NaN propagates through maximum / minimum, as in torch.maximum.
  maximum: nanAware('max'),
  minimum: nanAware('min'),
  equal: (a, b) => `u32(${a} == ${b})`,
  // Not `a != b`: some drivers compile it as an ordered compare, false when either is NaN.
  notEqual: (a, b) => `u32(!(${a} == ${b}))`,
  less: (a, b) => `u32(${a} < ${b})`,
  lessEqual: (a, b) => `u32(${a} <= ${b})`,
  greater: (a, b) => `u32(${a} > ${b})`,
  greaterEqual: (a, b) => `u32(${a} >= ${b})`,
  logicalAnd: (a, b) => `u32(${a} != 0u && ${b} != 0u)`,
  logicalOr: (a, b) => `u32(${a} != 0u || ${b} != 0u)`,
};

/**
 * How inputs are read at output index i: directly when every input has the output's shape,
 * otherwise through broadcast strides (specialised on the rank).
 */
function broadcastAccess(
  inputs: readonly Tensor[],
  outShape: Shape,
): { access: string; params: ParamBlock; offsets: string } {
  if (inputs.every((t) => shapesEqual(t.shape, outShape))) {
    return {
      access: 'same',
      params: NO_PARAMS,
      offsets: inputs.map((_, j) => `  let off${j} = i;`).join('\n'),
    };
  }
  const rank = outShape.length;
  const fields: Record<string, ParamFields[string]> = { shape: ['u32', rank] };
  const values: Record<string, readonly number[]> = { shape: outShape };
  inputs.forEach((t, j) => {
    fields[`strides${j}`] = ['u32', rank];
    values[`strides${j}`] = broadcastStrides(t.shape, outShape);
  });
  const offsets = stridedOffsets(
    rank,
    'i',
    'shape',
    inputs.map((_, j) => ({ strides: `strides${j}` })),
  );
  return { access: 'strided', params: { fields, values }, offsets };
}

function registerElementwise(
  op: string,
  expression: (loads: string[], t: ValueType) => string,
): void {
  registerGpuKernel(op, ({ inputs, outputs }, device) => {
    const out = outputs[0]!;
    const access = broadcastAccess(inputs, out.shape);
    const loads = inputs.map((_, j) => `v${j}`);
    const reads = inputs.map((_, j) => `  let v${j} = load_x${j}(off${j});`).join('\n');
    // The formula's type is that of the operands (the last one for `where`).
    const t = valueType(inputs[inputs.length - 1]!.dtype);
    const storage = runMap(
      device,
      {
        kernel: op,
        spec: { access: access.access },
        inputs: inputs.map(operand),
        outDType: out.dtype,
        params: access.params,
        helpers: t === 'f32' ? MATH_WGSL : '',
        body: `${access.offsets}\n${reads}\n  return ${expression(loads, t)};`,
      },
      out.shape.reduce((p, d) => p * d, 1),
    );
    return [storage];
  });
}

export function registerElementwiseKernels(): void {
  for (const name of UNARY_OPS) {
    const f = UNARY_WGSL[name];
    // NaN in, NaN out, whatever the builtins do with it (as every CPU formula does).
    registerElementwise(name, ([x], t) =>
      t === 'f32' ? `select(${f(x!, t)}, ${x}, is_nan(${x}))` : f(x!, t),
    );
  }
  for (const name of BINARY_OPS) {
    const f = BINARY_WGSL[name];
    registerElementwise(name, ([a, b], t) => f(a!, b!, t));
  }
  registerElementwise('where', ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`);
}
