import { fail } from './errors.js';
import type { IndexedTensor } from './indexed-tensor.js';

/**
 * The mask language: a small typed expression tree over the batch index `b`, the head `h`,
 * the query position `qIdx`, the key position `kvIdx` (and, in score modifiers, the raw
 * `score`). One tree compiles to a JavaScript function (`compileJs`), to WGSL (`toWgsl`)
 * and to interval bounds over a block of positions (`bounds`), which is how block masks
 * are classified without visiting elements.
 *
 * Integer arithmetic follows PyTorch / Python: `floorDiv` rounds toward -infinity and `mod`
 * takes the sign of the divisor (`torch.remainder`), on every backend.
 */
export type ScalarType = 'i32' | 'f32' | 'bool';

export type VarName = 'b' | 'h' | 'qIdx' | 'kvIdx' | 'score';

export type UnaryFn = 'neg' | 'abs' | 'not' | 'tanh' | 'exp' | 'toF32';

export type ArithFn = 'add' | 'sub' | 'mul' | 'div' | 'floorDiv' | 'mod' | 'min' | 'max';
export type CompareFn = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';
export type LogicFn = 'and' | 'or';
export type BinaryFn = ArithFn | CompareFn | LogicFn;

export type ExprNode =
  | { readonly op: 'var'; readonly name: VarName }
  | { readonly op: 'const'; readonly value: number }
  | { readonly op: 'param'; readonly name: string; readonly value: number }
  | { readonly op: 'at'; readonly tensor: IndexedTensor; readonly indices: readonly Expr[] }
  | { readonly op: 'unary'; readonly fn: UnaryFn; readonly arg: Expr }
  | { readonly op: 'binary'; readonly fn: BinaryFn; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'select'; readonly cond: Expr; readonly ifTrue: Expr; readonly ifFalse: Expr };

export type Operand = Expr | number | boolean;

const WHERE = 'mask expression';

/** An immutable, typed node of the mask language. Build with the helpers and methods. */
export class Expr {
  constructor(
    readonly type: ScalarType,
    readonly node: ExprNode,
  ) {}

  add(other: Operand): Expr {
    return arith('add', this, other);
  }
  sub(other: Operand): Expr {
    return arith('sub', this, other);
  }
  mul(other: Operand): Expr {
    return arith('mul', this, other);
  }
  /** True division; the result is f32. */
  div(other: Operand): Expr {
    return arith('div', this, other);
  }
  /** Division rounded toward -infinity (Python `//`). */
  floorDiv(other: Operand): Expr {
    return arith('floorDiv', this, other);
  }
  /** Remainder with the sign of the divisor (Python `%`, `torch.remainder`). */
  mod(other: Operand): Expr {
    return arith('mod', this, other);
  }
  min(other: Operand): Expr {
    return arith('min', this, other);
  }
  max(other: Operand): Expr {
    return arith('max', this, other);
  }
  abs(): Expr {
    return new Expr(numeric('abs', this), { op: 'unary', fn: 'abs', arg: this });
  }
  neg(): Expr {
    return new Expr(numeric('neg', this), { op: 'unary', fn: 'neg', arg: this });
  }
  tanh(): Expr {
    return new Expr('f32', { op: 'unary', fn: 'tanh', arg: toF32(this) });
  }
  /** e to the power of this (f32). */
  exp(): Expr {
    return new Expr('f32', { op: 'unary', fn: 'exp', arg: toF32(this) });
  }
  lt(other: Operand): Expr {
    return compare('lt', this, other);
  }
  le(other: Operand): Expr {
    return compare('le', this, other);
  }
  gt(other: Operand): Expr {
    return compare('gt', this, other);
  }
  ge(other: Operand): Expr {
    return compare('ge', this, other);
  }
  eq(other: Operand): Expr {
    return compare('eq', this, other);
  }
  ne(other: Operand): Expr {
    return compare('ne', this, other);
  }
  and(other: Operand): Expr {
    return and(this, other);
  }
  or(other: Operand): Expr {
    return or(this, other);
  }
  not(): Expr {
    return not(this);
  }

  toString(): string {
    return formatExpr(this);
  }
}

/** A literal: booleans give `bool`, integers `i32`, other numbers `f32`. */
export function lit(value: number | boolean): Expr {
  if (typeof value === 'boolean') return new Expr('bool', { op: 'const', value: Number(value) });
  if (!Number.isFinite(value)) fail(WHERE, `constants must be finite, got ${value}`);
  if (Number.isInteger(value)) {
    if (value < -(2 ** 31) || value >= 2 ** 31) fail(WHERE, `${value} does not fit in an i32`);
    return new Expr('i32', { op: 'const', value });
  }
  return new Expr('f32', { op: 'const', value });
}

/** A float literal, even for whole numbers. */
export function f32(value: number): Expr {
  if (!Number.isFinite(value)) fail(WHERE, `constants must be finite, got ${value}`);
  return new Expr('f32', { op: 'const', value: Math.fround(value) });
}

/**
 * A named scalar that a GPU kernel reads from a uniform buffer instead of baking it into the
 * shader, so changing it needs no new pipeline. Its value travels with the expression.
 */
export function param(name: string, value: number, type: 'i32' | 'f32' = 'i32'): Expr {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    fail(WHERE, `param name "${name}" must be a letter followed by letters, digits or _`);
  }
  if (type === 'i32' && !Number.isInteger(value)) {
    fail(WHERE, `param ${name} is i32 but its value ${value} is not an integer`);
  }
  return new Expr(type, { op: 'param', name, value: type === 'f32' ? Math.fround(value) : value });
}

function variable(name: VarName, type: ScalarType): Expr {
  return new Expr(type, { op: 'var', name });
}

/** Batch index. */
export const b: Expr = variable('b', 'i32');
/** Head index. */
export const h: Expr = variable('h', 'i32');
/** Query position (row of the score matrix). */
export const qIdx: Expr = variable('qIdx', 'i32');
/** Key / value position (column of the score matrix). */
export const kvIdx: Expr = variable('kvIdx', 'i32');
/** The scaled score `q·k * scale`, only inside score modifiers. */
export const score: Expr = variable('score', 'f32');

export function toExpr(value: Operand): Expr {
  return value instanceof Expr ? value : lit(value);
}

export function toF32(e: Expr): Expr {
  if (e.type === 'f32') return e;
  if (e.type === 'bool') fail(WHERE, `cannot use the bool ${formatExpr(e)} as a number`);
  return new Expr('f32', { op: 'unary', fn: 'toF32', arg: e });
}

function numeric(where: string, e: Expr): ScalarType {
  if (e.type === 'bool') fail(WHERE, `${where} needs numbers, got the bool ${formatExpr(e)}`);
  return e.type;
}

/** Promote a pair of numeric operands to a common type (i32 widens to f32, as in PyTorch). */
function promote(where: string, x: Operand, y: Operand): [Expr, Expr, ScalarType] {
  const a = toExpr(x);
  const c = toExpr(y);
  const ta = numeric(where, a);
  const tc = numeric(where, c);
  if (ta === tc) return [a, c, ta];
  return [toF32(a), toF32(c), 'f32'];
}

function arith(fn: ArithFn, x: Operand, y: Operand): Expr {
  if (fn === 'div') {
    const [a, c] = promote(fn, x, y);
    return new Expr('f32', { op: 'binary', fn, a: toF32(a), b: toF32(c) });
  }
  const [a, c, type] = promote(fn, x, y);
  return new Expr(type, { op: 'binary', fn, a, b: c });
}

function compare(fn: CompareFn, x: Operand, y: Operand): Expr {
  const a = toExpr(x);
  const c = toExpr(y);
  if (a.type === 'bool' && c.type === 'bool' && (fn === 'eq' || fn === 'ne')) {
    return new Expr('bool', { op: 'binary', fn, a, b: c });
  }
  const [pa, pc] = promote(fn, a, c);
  return new Expr('bool', { op: 'binary', fn, a: pa, b: pc });
}

function logical(fn: LogicFn, operands: readonly Operand[]): Expr {
  if (operands.length === 0) return lit(fn === 'and');
  const exprs = operands.map(toExpr);
  for (const e of exprs) {
    if (e.type !== 'bool') fail(WHERE, `${fn} needs bools, got the ${e.type} ${formatExpr(e)}`);
  }
  return exprs.reduce((acc, e) => new Expr('bool', { op: 'binary', fn, a: acc, b: e }));
}

/** Logical and of any number of bool expressions (true when given none). */
export function and(...operands: Operand[]): Expr {
  return logical('and', operands);
}

/** Logical or of any number of bool expressions (false when given none). */
export function or(...operands: Operand[]): Expr {
  return logical('or', operands);
}

export function not(x: Operand): Expr {
  const e = toExpr(x);
  if (e.type !== 'bool') fail(WHERE, `not needs a bool, got the ${e.type} ${formatExpr(e)}`);
  return new Expr('bool', { op: 'unary', fn: 'not', arg: e });
}

/** `cond ? ifTrue : ifFalse`, elementwise (WGSL `select`, `torch.where`). */
export function where(cond: Operand, ifTrue: Operand, ifFalse: Operand): Expr {
  const c = toExpr(cond);
  if (c.type !== 'bool') fail(WHERE, `where needs a bool condition, got ${formatExpr(c)}`);
  const t = toExpr(ifTrue);
  const f = toExpr(ifFalse);
  if (t.type === 'bool' || f.type === 'bool') {
    if (t.type !== f.type) fail(WHERE, `where mixes a bool and a number: ${t} / ${f}`);
    return new Expr('bool', { op: 'select', cond: c, ifTrue: t, ifFalse: f });
  }
  const [pt, pf, type] = promote('where', t, f);
  return new Expr(type, { op: 'select', cond: c, ifTrue: pt, ifFalse: pf });
}

export const add = (x: Operand, y: Operand): Expr => arith('add', x, y);
export const sub = (x: Operand, y: Operand): Expr => arith('sub', x, y);
export const mul = (x: Operand, y: Operand): Expr => arith('mul', x, y);
export const div = (x: Operand, y: Operand): Expr => arith('div', x, y);
export const floorDiv = (x: Operand, y: Operand): Expr => arith('floorDiv', x, y);
export const mod = (x: Operand, y: Operand): Expr => arith('mod', x, y);
export const min = (x: Operand, y: Operand): Expr => arith('min', x, y);
export const max = (x: Operand, y: Operand): Expr => arith('max', x, y);
export const abs = (x: Operand): Expr => toExpr(x).abs();
export const tanh = (x: Operand): Expr => toExpr(x).tanh();
export const exp = (x: Operand): Expr => toExpr(x).exp();

/** Replace every occurrence of a variable (used to chain score modifiers). */
export function substitute(e: Expr, name: VarName, by: Expr): Expr {
  const n = e.node;
  switch (n.op) {
    case 'var':
      return n.name === name ? by : e;
    case 'const':
    case 'param':
      return e;
    case 'at':
      return new Expr(e.type, {
        op: 'at',
        tensor: n.tensor,
        indices: n.indices.map((i) => substitute(i, name, by)),
      });
    case 'unary':
      return new Expr(e.type, { ...n, arg: substitute(n.arg, name, by) });
    case 'binary':
      return new Expr(e.type, { ...n, a: substitute(n.a, name, by), b: substitute(n.b, name, by) });
    case 'select':
      return new Expr(e.type, {
        op: 'select',
        cond: substitute(n.cond, name, by),
        ifTrue: substitute(n.ifTrue, name, by),
        ifFalse: substitute(n.ifFalse, name, by),
      });
  }
}

/** Every node of the tree, parents before children. */
export function* walk(e: Expr): Generator<Expr> {
  yield e;
  const n = e.node;
  if (n.op === 'at') for (const i of n.indices) yield* walk(i);
  else if (n.op === 'unary') yield* walk(n.arg);
  else if (n.op === 'binary') {
    yield* walk(n.a);
    yield* walk(n.b);
  } else if (n.op === 'select') {
    yield* walk(n.cond);
    yield* walk(n.ifTrue);
    yield* walk(n.ifFalse);
  }
}

export function usesVar(e: Expr, name: VarName): boolean {
  for (const x of walk(e)) if (x.node.op === 'var' && x.node.name === name) return true;
  return false;
}

/** Binary functions written infix, with the same symbol, in JavaScript and WGSL. */
export const INFIX: Partial<Record<BinaryFn, string>> = {
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  eq: '==',
  ne: '!=',
  and: '&&',
  or: '||',
};

const SYMBOLS: Partial<Record<BinaryFn, string>> = { ...INFIX, floorDiv: '//', mod: '%' };

/** A readable, fully parenthesised rendering for error messages and debugging. */
export function formatExpr(e: Expr): string {
  const n = e.node;
  switch (n.op) {
    case 'var':
      return n.name;
    case 'const':
      return e.type === 'bool' ? String(n.value !== 0) : String(n.value);
    case 'param':
      return `${n.name}=${n.value}`;
    case 'at':
      return `${n.tensor.name}[${n.indices.map(formatExpr).join(', ')}]`;
    case 'unary':
      return n.fn === 'not' ? `!${formatExpr(n.arg)}` : `${n.fn}(${formatExpr(n.arg)})`;
    case 'binary': {
      const symbol = SYMBOLS[n.fn];
      return symbol
        ? `(${formatExpr(n.a)} ${symbol} ${formatExpr(n.b)})`
        : `${n.fn}(${formatExpr(n.a)}, ${formatExpr(n.b)})`;
    }
    case 'select':
      return `(${formatExpr(n.cond)} ? ${formatExpr(n.ifTrue)} : ${formatExpr(n.ifFalse)})`;
  }
}
