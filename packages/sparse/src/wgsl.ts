import { type AttentionModsWgsl, wgslTanh } from '@qkv/tensor';
import { fail } from './errors.js';
import { Expr, type ExprNode, formatExpr, INFIX, walk } from './expr.js';
import type { IndexedTensor } from './indexed-tensor.js';
import { assertMask } from './mask.js';
import { assertScoreMod } from './score-mods.js';

/** A buffer the generated WGSL declares, with the host data to fill it. */
export interface WgslBinding {
  readonly group: number;
  readonly binding: number;
  readonly kind: 'storage' | 'uniform';
  /** The WGSL variable name. */
  readonly name: string;
  /** Element type of a storage array (`array<i32>` / `array<f32>`). */
  readonly elementType?: 'i32' | 'f32';
  /** Bytes to upload: the table for storage, the packed struct (16-byte padded) for uniforms. */
  readonly data: Int32Array | Float32Array | Uint8Array;
}

export interface WgslSnippet {
  /** Helper functions, binding declarations and the functions themselves. */
  readonly code: string;
  /** `fn <maskFunction>(b: i32, h: i32, q_idx: i32, kv_idx: i32) -> bool`, when a mask was given. */
  readonly maskFunction?: string;
  /** `fn <scoreFunction>(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32`. */
  readonly scoreFunction?: string;
  /**
   * The bare expressions, for kernels that inline them instead of calling the functions:
   * they read `b`, `h`, `q_idx`, `kv_idx` (and `score`) and need the helpers and bindings
   * declared in `code`.
   */
  readonly maskExpression?: string;
  readonly scoreExpression?: string;
  readonly bindings: readonly WgslBinding[];
}

export interface ToWgslOptions {
  /** Bind group of the declared buffers (default 1, leaving 0 to the attention kernel). */
  group?: number;
  /** First binding number (default 0); one per table, then one for the uniforms. */
  firstBinding?: number;
  /** Prefix of every generated global name (default `qkv_`). */
  prefix?: string;
  maskFunction?: string;
  scoreFunction?: string;
}

const WHERE = 'toWgsl';

/** i32 floor division and remainder, Python semantics; WGSL's `/` and `%` truncate. */
const HELPERS = {
  floorDiv: (p: string) => `fn ${p}floor_div(a: i32, d: i32) -> i32 {
  let q = a / d;
  return select(q, q - 1i, (a % d != 0i) && ((a < 0i) != (d < 0i)));
}`,
  mod: (p: string) => `fn ${p}mod(a: i32, d: i32) -> i32 {
  let r = a % d;
  return select(r, r + d, (r != 0i) && ((r < 0i) != (d < 0i)));
}`,
  fmod: (p: string) => `fn ${p}fmod(a: f32, d: f32) -> f32 {
  return a - d * floor(a / d);
}`,
  tanh: (p: string) => wgslTanh(`${p}tanh`),
};

const VARS = { b: 'b', h: 'h', qIdx: 'q_idx', kvIdx: 'kv_idx', score: 'score' } as const;

export function i32Literal(v: number): string {
  if (!Number.isInteger(v) || v <= -(2 ** 31) || v >= 2 ** 31) {
    fail(WHERE, `${v} is not representable as an i32 literal`);
  }
  return v < 0 ? `(${v}i)` : `${v}i`;
}

export function f32Literal(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) > 3.4028234663852886e38) {
    fail(WHERE, `${v} is not representable as an f32 literal`);
  }
  // The shortest decimal that reads back as the same f32.
  const a = Math.abs(v);
  let digits = String(a);
  for (let p = 1; p <= 9; p++) {
    const candidate = String(Number(a.toPrecision(p)));
    if (Math.fround(Number(candidate)) === Math.fround(a)) {
      digits = candidate;
      break;
    }
  }
  const text = `${digits}f`;
  return v < 0 ? `(-${text})` : text;
}

/** A mask and / or score modifier compiled to WGSL functions, before any binding is declared. */
interface CompiledWgsl {
  /** Helper functions the expressions call. */
  readonly helpers: readonly string[];
  /** The mask and / or score functions. */
  readonly functions: readonly string[];
  readonly maskFunction?: string;
  readonly scoreFunction?: string;
  readonly scoreGradFunction?: string;
  readonly maskExpression?: string;
  readonly scoreExpression?: string;
  /** Each table indexed with `.at`, under its WGSL name. */
  readonly tables: ReadonlyMap<IndexedTensor, string>;
  /** Each `param` scalar, by name. */
  readonly params: ReadonlyMap<string, { type: 'i32' | 'f32'; value: number }>;
}

function splitParts(input: Expr | { mask?: Expr; scoreMod?: Expr }): {
  mask?: Expr;
  scoreMod?: Expr;
} {
  if ((input as { kind?: string }).kind === 'predicate') {
    fail(WHERE, 'a maskFromPredicate(...) mask is a JavaScript function and has no WGSL form');
  }
  const parts =
    input instanceof Expr ? (input.type === 'bool' ? { mask: input } : { scoreMod: input }) : input;
  if (!parts.mask && !parts.scoreMod) fail(WHERE, 'give a mask, a score modifier, or both');
  if (parts.mask) assertMask(WHERE, parts.mask);
  if (parts.scoreMod) assertScoreMod(WHERE, parts.scoreMod);
  return parts;
}

/**
 * The functions of `parts`, with every global name starting with `prefix` and `param` scalars
 * read through `paramRef(name)`.
 */
function compileWgsl(
  parts: { mask?: Expr; scoreMod?: Expr; scoreModGrad?: Expr },
  options: Pick<ToWgslOptions, 'prefix' | 'maskFunction' | 'scoreFunction'>,
  paramRef: (name: string) => string,
): CompiledWgsl {
  const prefix = options.prefix ?? 'qkv_';
  const roots = [parts.mask, parts.scoreMod, parts.scoreModGrad].filter(
    (e): e is Expr => e !== undefined,
  );
  // Name every table once; distinct tables that share a name get numbered.
  const tableNames = new Map<IndexedTensor, string>();
  const taken = new Set<string>();
  const params = new Map<string, { type: 'i32' | 'f32'; value: number }>();
  for (const root of roots) {
    for (const e of walk(root)) {
      const n = e.node;
      if (n.op === 'at' && !tableNames.has(n.tensor)) {
        let name = `${prefix}${n.tensor.name}`;
        for (let i = 2; taken.has(name); i++) name = `${prefix}${n.tensor.name}_${i}`;
        taken.add(name);
        tableNames.set(n.tensor, name);
      } else if (n.op === 'param') {
        const seen = params.get(n.name);
        const type = e.type as 'i32' | 'f32';
        if (seen && (seen.value !== n.value || seen.type !== type)) {
          fail(WHERE, `param ${n.name} is used with two values: ${seen.value} and ${n.value}`);
        }
        params.set(n.name, { type, value: n.value });
      }
    }
  }

  const used = new Set<keyof typeof HELPERS>();
  const emit = (e: Expr): string => emitNode(e, e.node);
  const emitNode = (e: Expr, n: ExprNode): string => {
    switch (n.op) {
      case 'var':
        return VARS[n.name];
      case 'const':
        if (e.type === 'bool') return n.value ? 'true' : 'false';
        return e.type === 'i32' ? i32Literal(n.value) : f32Literal(n.value);
      case 'param':
        return paramRef(n.name);
      case 'at': {
        const terms = n.indices.map((idx, d) => {
          const clamped = `clamp(${emit(idx)}, 0i, ${i32Literal(n.tensor.shape[d]! - 1)})`;
          const stride = n.tensor.strides[d]!;
          return stride === 1 ? clamped : `${clamped} * ${i32Literal(stride)}`;
        });
        return `${tableNames.get(n.tensor)}[${terms.join(' + ')}]`;
      }
      case 'unary':
        switch (n.fn) {
          case 'neg':
            return `(-${emit(n.arg)})`;
          case 'abs':
            return `abs(${emit(n.arg)})`;
          case 'not':
            return `(!${emit(n.arg)})`;
          case 'tanh':
            used.add('tanh');
            return `${prefix}tanh(${emit(n.arg)})`;
          case 'exp':
            return `exp(${emit(n.arg)})`;
          case 'toF32':
            return `f32(${emit(n.arg)})`;
        }
        break;
      case 'binary': {
        const a = emit(n.a);
        const c = emit(n.b);
        const op = INFIX[n.fn];
        if (op) return `(${a} ${op} ${c})`;
        if (n.fn === 'min' || n.fn === 'max') return `${n.fn}(${a}, ${c})`;
        const integer = n.a.type === 'i32';
        if (n.fn === 'floorDiv') {
          if (!integer) return `floor(${a} / ${c})`;
          used.add('floorDiv');
          return `${prefix}floor_div(${a}, ${c})`;
        }
        used.add(integer ? 'mod' : 'fmod');
        return `${prefix}${integer ? 'mod' : 'fmod'}(${a}, ${c})`;
      }
      case 'select':
        return `select(${emit(n.ifFalse)}, ${emit(n.ifTrue)}, ${emit(n.cond)})`;
    }
    fail(WHERE, `cannot compile ${formatExpr(e)}`);
  };

  const functions: string[] = [];
  const maskFunction = parts.mask ? (options.maskFunction ?? 'mask_mod') : undefined;
  const scoreFunction = parts.scoreMod ? (options.scoreFunction ?? 'score_mod') : undefined;
  const maskExpression = parts.mask ? emit(parts.mask) : undefined;
  const asF32 = (e: Expr) => (e.type === 'f32' ? emit(e) : `f32(${emit(e)})`);
  const scoreExpression = parts.scoreMod ? asF32(parts.scoreMod) : undefined;
  if (maskExpression !== undefined) {
    functions.push(
      `fn ${maskFunction}(b: i32, h: i32, q_idx: i32, kv_idx: i32) -> bool {\n  return ${maskExpression};\n}`,
    );
  }
  const scoreFn = (name: string, body: string) =>
    `fn ${name}(score: f32, b: i32, h: i32, q_idx: i32, kv_idx: i32) -> f32 {\n  return ${body};\n}`;
  if (scoreExpression !== undefined) functions.push(scoreFn(scoreFunction!, scoreExpression));
  const scoreGradFunction = parts.scoreModGrad ? `${scoreFunction ?? 'score_mod'}_grad` : undefined;
  if (parts.scoreModGrad) functions.push(scoreFn(scoreGradFunction!, asF32(parts.scoreModGrad)));

  return {
    helpers: [...used].map((k) => HELPERS[k](prefix)),
    functions,
    ...(maskFunction ? { maskFunction, maskExpression } : {}),
    ...(scoreFunction ? { scoreFunction, scoreExpression } : {}),
    ...(scoreGradFunction ? { scoreGradFunction } : {}),
    tables: tableNames,
    params,
  };
}

/**
 * Compile a mask and / or a score modifier to WGSL for inlining into an attention kernel:
 * the functions, the helpers they call, and the storage / uniform buffers they read (tables
 * indexed with `.at`, and `param` scalars), each with its data.
 */
export function toWgsl(
  input: Expr | { mask?: Expr; scoreMod?: Expr },
  options: ToWgslOptions = {},
): WgslSnippet {
  const prefix = options.prefix ?? 'qkv_';
  const group = options.group ?? 1;
  let nextBinding = options.firstBinding ?? 0;
  const uniformVar = `${prefix}params`;
  const compiled = compileWgsl(splitParts(input), options, (name) => `${uniformVar}.${name}`);
  const { tables: tableNames, params, maskFunction, scoreFunction } = compiled;
  const bindings: WgslBinding[] = [];
  const declarations: string[] = [];
  for (const [tensor, name] of tableNames) {
    const binding = nextBinding++;
    declarations.push(
      `@group(${group}) @binding(${binding}) var<storage, read> ${name}: array<${tensor.elementType}>;`,
    );
    bindings.push({
      group,
      binding,
      kind: 'storage',
      name,
      elementType: tensor.elementType,
      data: tensor.data,
    });
  }
  if (params.size > 0) {
    const binding = nextBinding++;
    const structName = `${prefix}Params`;
    const fields = [...params].map(([name, p]) => `  ${name}: ${p.type},`).join('\n');
    declarations.push(`struct ${structName} {\n${fields}\n}`);
    declarations.push(
      `@group(${group}) @binding(${binding}) var<uniform> ${uniformVar}: ${structName};`,
    );
    const bytes = new ArrayBuffer(Math.ceil((params.size * 4) / 16) * 16);
    const ints = new Int32Array(bytes);
    const floats = new Float32Array(bytes);
    [...params.values()].forEach((p, i) => {
      if (p.type === 'i32') ints[i] = p.value;
      else floats[i] = p.value;
    });
    bindings.push({
      group,
      binding,
      kind: 'uniform',
      name: uniformVar,
      data: new Uint8Array(bytes),
    });
  }
  const code = [...compiled.helpers, ...declarations, ...compiled.functions].join('\n\n');
  return {
    code: `${code}\n`,
    ...(maskFunction ? { maskFunction, maskExpression: compiled.maskExpression } : {}),
    ...(scoreFunction ? { scoreFunction, scoreExpression: compiled.scoreExpression } : {}),
    bindings,
  };
}

/**
 * The mask and / or score modifier as the `blockSparseAttention` op's WGSL: tables become
 * storage arrays the kernel declares, and `param` scalars fields of the kernel's own
 * parameters (`params.<prefix><name>`). `scoreModGrad`, the modifier's derivative with
 * respect to the score (see `derivative`), compiles beside it for the backward kernels.
 */
export function attentionModsWgsl(parts: {
  mask?: Expr;
  scoreMod?: Expr;
  scoreModGrad?: Expr;
}): AttentionModsWgsl {
  const prefix = 'qkv_';
  const { scoreModGrad } = parts;
  if (scoreModGrad && !parts.scoreMod) fail(WHERE, 'scoreModGrad needs its scoreMod');
  const compiled = compileWgsl(
    { ...splitParts(parts), ...(scoreModGrad ? { scoreModGrad } : {}) },
    { prefix },
    (name) => `params.${prefix}${name}`,
  );
  return {
    code: [...compiled.helpers, ...compiled.functions].join('\n\n'),
    ...(compiled.maskFunction ? { maskFunction: compiled.maskFunction } : {}),
    ...(compiled.scoreFunction ? { scoreFunction: compiled.scoreFunction } : {}),
    ...(compiled.scoreGradFunction ? { scoreGradFunction: compiled.scoreGradFunction } : {}),
    tables: [...compiled.tables].map(([tensor, name]) => ({ name, data: tensor.data })),
    scalars: [...compiled.params].map(([name, p]) => ({ name: `${prefix}${name}`, ...p })),
  };
}
