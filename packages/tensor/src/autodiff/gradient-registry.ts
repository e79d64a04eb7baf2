import { fail } from '../errors.js';
import { listOps, type OpDef } from '../registry.js';
import type { Tensor } from '../tensor.js';

/** What a gradient function sees of the forward call it differentiates. */
export interface GradientContext<A> {
  /** The op's inputs, as the forward received them (kept alive by the tape). */
  readonly inputs: readonly Tensor[];
  /** The op's outputs. */
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
  /**
   * Per input, whether the tape wants its gradient (it depends on a differentiated
   * argument). A gradient that costs extra work (attention's bias) is computed only then.
   */
  readonly needsGrad: readonly boolean[];
}

/**
 * Vector-Jacobian product of one op, written with ops so every backend gets it: given the
 * upstream gradient of each output, return one gradient per input, shaped like that input
 * (`undefined` for inputs that are not differentiable, such as indices or bool masks; for a
 * float input the tape wants, `undefined` is an error that names the op and the input, never
 * a silent zero).
 * It runs inside a scope: temporaries it makes are freed, only what it returns is kept.
 */
export type GradientFunc<A> = (
  dys: readonly Tensor[],
  ctx: GradientContext<A>,
) => (Tensor | undefined)[];

/**
 * Options of {@link registerGradient}. `refuses(attrs)` says why a call with these
 * attributes has no gradient (undefined: it has one); the tape asks when it records the
 * call, so the error names the forward call rather than surfacing in the backward pass.
 */
export interface GradientOptions<A> {
  refuses?: (attrs: A) => string | undefined;
}

const gradients = new Map<string, GradientFunc<never>>();
const refusals = new Map<string, (attrs: never) => string | undefined>();
const nonDifferentiable = new Map<string, string>();

const opName = (op: string | OpDef<unknown>) => (typeof op === 'string' ? op : op.name);

/** Declare `op`'s gradient (as tfjs's `registerGradient`); once per op. */
export function registerGradient<A>(
  op: string | OpDef<A>,
  grad: GradientFunc<A>,
  options: GradientOptions<A> = {},
): void {
  const name = opName(op as string | OpDef<unknown>);
  if (gradients.has(name) || nonDifferentiable.has(name)) {
    fail('registerGradient', `op "${name}" already declares its gradient`);
  }
  gradients.set(name, grad as GradientFunc<never>);
  if (options.refuses) refusals.set(name, options.refuses as (attrs: never) => string | undefined);
}

/** Why `op` called with `attrs` has no gradient, or undefined when it has one. */
export function gradientRefusal(op: string, attrs: unknown): string | undefined {
  return (refusals.get(op) as ((attrs: unknown) => string | undefined) | undefined)?.(attrs);
}

/**
 * Declare ops whose outputs carry no gradient (comparisons, argmax, casts to integers):
 * the tape does not follow them. `reason` documents why.
 */
export function registerNonDifferentiable(ops: readonly string[], reason: string): void {
  for (const name of ops) {
    if (gradients.has(name) || nonDifferentiable.has(name)) {
      fail('registerNonDifferentiable', `op "${name}" already declares its gradient`);
    }
    nonDifferentiable.set(name, reason);
  }
}

/** The gradient of `op`: a function, `'none'` when declared non-differentiable, or undefined. */
export function gradientOf(op: string): GradientFunc<unknown> | 'none' | undefined {
  if (nonDifferentiable.has(op)) return 'none';
  return gradients.get(op) as GradientFunc<unknown> | undefined;
}

/** @internal */
export function hasGradientDeclaration(op: string): boolean {
  return gradients.has(op) || nonDifferentiable.has(op);
}

/** Declared ops that neither have a gradient nor are declared non-differentiable. */
export function listMissingGradients(): string[] {
  return listOps().filter((op) => !hasGradientDeclaration(op));
}
