import { describeValue } from '../check-args.js';
import { fromTypedArray, toTypedArray } from '../creation.js';
import type { DType } from '../dtype.js';
import { fail } from '../errors.js';
import { defineOp, type OpDef, runOp } from '../registry.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import {
  assertDTypeIn,
  assertFloat,
  assertSameDType,
  assertTensors,
  describe,
} from './validate.js';

/**
 * Unary elementwise ops. Each backend maps every name to its formula (the CPU backend in
 * JavaScript, WebGPU in WGSL), so a new entry here fails to compile until both have it.
 * `gelu` is the exact erf form, `geluTanh` PyTorch's `approximate='tanh'`.
 */
export const UNARY_OPS = [
  'neg',
  'abs',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'geluTanh',
  'silu',
  'logicalNot',
] as const;
export type UnaryOpName = (typeof UNARY_OPS)[number];

/** Unary ops that are also defined on integers; `logicalNot` takes bool; the rest need floats. */
const SIGNED_INT_UNARY: readonly UnaryOpName[] = ['neg', 'abs', 'relu'];

export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'equal',
  'notEqual',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
  'logicalAnd',
  'logicalOr',
] as const;
export type BinaryOpName = (typeof BINARY_OPS)[number];

export const COMPARISONS: readonly BinaryOpName[] = [
  'equal',
  'notEqual',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
];
const FLOAT_ONLY_BINARY: readonly BinaryOpName[] = ['div', 'pow'];
export const LOGICAL_BINARY: readonly BinaryOpName[] = ['logicalAnd', 'logicalOr'];

function unaryDef(name: UnaryOpName): OpDef<Record<string, never>> {
  return defineOp({
    name,
    inputNames: ['x'],
    infer([x]) {
      if (name === 'logicalNot') assertDTypeIn(name, 'x', x!, ['bool']);
      else if (SIGNED_INT_UNARY.includes(name))
        assertDTypeIn(name, 'x', x!, ['float32', 'float16', 'int32']);
      else assertFloat(name, 'x', x!);
      return [{ shape: x!.shape, dtype: x!.dtype }];
    },
  });
}

function binaryDef(name: BinaryOpName): OpDef<Record<string, never>> {
  return defineOp({
    name,
    inputNames: ['a', 'b'],
    infer([a, b]) {
      assertSameDType(name, ['a', 'b'], [a!, b!]);
      if (LOGICAL_BINARY.includes(name)) assertDTypeIn(name, 'a', a!, ['bool']);
      else if (FLOAT_ONLY_BINARY.includes(name)) assertFloat(name, 'a', a!);
      else if (!COMPARISONS.includes(name) && a!.dtype === 'bool') {
        fail(
          name,
          `a is ${describe(a!)}; arithmetic on bool is not defined, use logicalAnd / logicalOr`,
        );
      }
      const shape = broadcastShapes(name, a!.shape, b!.shape);
      return [{ shape, dtype: COMPARISONS.includes(name) ? 'bool' : a!.dtype }];
    },
  });
}

export const unaryOpDefs = Object.fromEntries(UNARY_OPS.map((n) => [n, unaryDef(n)])) as Record<
  UnaryOpName,
  OpDef<Record<string, never>>
>;
export const binaryOpDefs = Object.fromEntries(BINARY_OPS.map((n) => [n, binaryDef(n)])) as Record<
  BinaryOpName,
  OpDef<Record<string, never>>
>;

export const WhereOp = defineOp<Record<string, never>>({
  name: 'where',
  inputNames: ['condition', 'a', 'b'],
  infer([condition, a, b]) {
    assertDTypeIn('where', 'condition', condition!, ['bool']);
    assertSameDType('where', ['a', 'b'], [a!, b!]);
    return [
      { shape: broadcastShapes('where', condition!.shape, a!.shape, b!.shape), dtype: a!.dtype },
    ];
  },
});

export type Operand = Tensor | number | boolean;

/**
 * Turn plain numbers into 0-d tensors on the device and with the dtype of the tensor operand,
 * run `body`, and dispose the temporaries.
 */
function withScalars(
  where: string,
  names: readonly string[],
  operands: readonly Operand[],
  body: (ts: Tensor[]) => Tensor,
): Tensor {
  const reference = operands.find((o): o is Tensor => typeof o === 'object');
  if (!reference) fail(where, 'at least one operand must be a tensor');
  const temporaries: Tensor[] = [];
  const tensors = operands.map((o, i) => {
    if (typeof o === 'object') return o;
    if (typeof o !== 'number' && typeof o !== 'boolean') {
      fail(where, `${names[i]} must be a Tensor, a number or a boolean, got ${describeValue(o)}`);
    }
    const dtype: DType = typeof o === 'boolean' ? 'bool' : reference.dtype;
    if (reference.isDisposed) fail(where, `tensor operand ${describe(reference)} was disposed`);
    let data: ReturnType<typeof toTypedArray>;
    try {
      data = toTypedArray(where, [o], dtype);
    } catch {
      fail(
        where,
        `scalar ${o} does not fit dtype ${dtype} of the tensor operand; cast the tensor first`,
      );
    }
    const t = fromTypedArray(data, [], dtype, reference.device);
    temporaries.push(t);
    return t;
  });
  try {
    return body(tensors);
  } finally {
    for (const t of temporaries) t.dispose();
  }
}

export function unary(name: UnaryOpName, x: Tensor): Tensor {
  return runOp(unaryOpDefs[name], [x], {})[0]!;
}

export function binary(name: BinaryOpName, a: Operand, b: Operand): Tensor {
  return withScalars(name, ['a', 'b'], [a, b], (ts) => runOp(binaryOpDefs[name], ts, {})[0]!);
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
/** GELU, exact erf form; `geluTanh` for the tanh approximation. */
export const gelu = (x: Tensor) => unary('gelu', x);
export const geluTanh = (x: Tensor) => unary('geluTanh', x);
export const silu = (x: Tensor) => unary('silu', x);
export const logicalNot = (x: Tensor) => unary('logicalNot', x);

export const add = (a: Operand, b: Operand) => binary('add', a, b);
export const sub = (a: Operand, b: Operand) => binary('sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('mul', a, b);
/** True division; floats only (cast integers first). */
export const div = (a: Operand, b: Operand) => binary('div', a, b);
export const pow = (a: Operand, b: Operand) => binary('pow', a, b);
export const maximum = (a: Operand, b: Operand) => binary('maximum', a, b);
export const minimum = (a: Operand, b: Operand) => binary('minimum', a, b);
export const equal = (a: Operand, b: Operand) => binary('equal', a, b);
export const notEqual = (a: Operand, b: Operand) => binary('notEqual', a, b);
export const less = (a: Operand, b: Operand) => binary('less', a, b);
export const lessEqual = (a: Operand, b: Operand) => binary('lessEqual', a, b);
export const greater = (a: Operand, b: Operand) => binary('greater', a, b);
export const greaterEqual = (a: Operand, b: Operand) => binary('greaterEqual', a, b);
export const logicalAnd = (a: Operand, b: Operand) => binary('logicalAnd', a, b);
export const logicalOr = (a: Operand, b: Operand) => binary('logicalOr', a, b);

/** `condition ? a : b` elementwise, with broadcasting (`torch.where`). */
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  return withScalars(
    'where',
    ['a', 'b'],
    [a, b],
    ([ta, tb]) => runOp(WhereOp, [condition, ta!, tb!], {})[0]!,
  );
}

/** `x` with `value` wherever `mask` is true (`Tensor.masked_fill`); `mask` broadcasts to `x`. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertTensors('maskedFill', { x, mask });
  const out = where(mask, value, x);
  if (out.rank !== x.rank || out.shape.some((d, i) => d !== x.shape[i])) {
    out.dispose();
    fail(
      'maskedFill',
      `mask ${describe(mask)} must broadcast to x ${describe(x)} without growing it`,
    );
  }
  return out;
}
