import { ones, zeros } from '../creation.js';
import { isFloatDType } from '../dtype.js';
import { fail } from '../errors.js';
import { keep, scope } from '../lifetime.js';
import { add } from '../ops/elementwise.js';
import { opInputNames } from '../registry.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import {
  type GradientFunc,
  gradientOf,
  gradientRefusal,
  listMissingGradients,
} from './gradient-registry.js';
import { type OpRecorder, withRecorder } from './hook.js';
import { registerBuiltinGradients } from './register-gradients.js';

/** One recorded forward step: an op call, or a reshape view (`grad` then reshapes back). */
interface TapeNode {
  readonly op: string;
  readonly grad: GradientFunc<unknown>;
  readonly attrs: unknown;
  /** The forward's input and output objects: gradients are keyed by tensor identity. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  /** Views of the same storage the tape owns, so the forward may dispose its own handles. */
  readonly savedInputs: Tensor[];
  readonly savedOutputs: Tensor[];
}

const reshapeGrad: GradientFunc<unknown> = ([dy], { inputs }) => [dy!.reshape(inputs[0]!.shape)];

/**
 * Records the ops that depend on the watched tensors while `f` runs, then walks them in
 * reverse, applying each op's registered gradient. Saved tensors are views the tape owns
 * (no copies); each node's are released as soon as its gradient has been taken, and each
 * gradient once it has been passed on.
 */
class Tape implements OpRecorder {
  readonly #watched = new Set<Tensor>();
  readonly #nodes: TapeNode[] = [];

  constructor(args: readonly Tensor[]) {
    for (const t of args) this.#watched.add(t);
  }

  records(inputs: readonly Tensor[]): boolean {
    return inputs.some((t) => this.#watched.has(t));
  }

  recordOp(op: string, inputs: readonly Tensor[], attrs: unknown, outputs: readonly Tensor[]) {
    if (!this.records(inputs)) return;
    const grad = gradientOf(op);
    if (grad === 'none') return;
    if (!grad) {
      fail('grads', `op "${op}" has no gradient; declare one with registerGradient("${op}", ...)`);
    }
    const refusal = gradientRefusal(op, attrs);
    if (refusal) fail(op, refusal);
    this.#push(op, grad, attrs, inputs, outputs);
  }

  recordView(source: Tensor, view: Tensor): void {
    if (this.#watched.has(source)) this.#push('reshape', reshapeGrad, {}, [source], [view]);
  }

  #push(
    op: string,
    grad: GradientFunc<unknown>,
    attrs: unknown,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
  ) {
    // Views are made with recording off so they do not record themselves.
    const save = (ts: readonly Tensor[]) =>
      withRecorder(undefined, () => ts.map((t) => keep(t.reshape(t.shape))));
    this.#nodes.push({
      op,
      grad,
      attrs,
      inputs: [...inputs],
      outputs: [...outputs],
      savedInputs: save(inputs),
      savedOutputs: save(outputs),
    });
    for (const t of outputs) if (isFloatDType(t.dtype)) this.#watched.add(t);
  }

  /** Gradients of `y` (seeded with `dy`) with respect to `args`, in order. */
  backward(y: Tensor, dy: Tensor, args: readonly Tensor[]): Tensor[] {
    const pending = new Map<Tensor, Tensor>();
    const accumulate = (t: Tensor, g: Tensor) => {
      const previous = pending.get(t);
      if (!previous) {
        pending.set(t, g);
        return;
      }
      pending.set(t, add(previous, g));
      previous.dispose();
      g.dispose();
    };
    try {
      accumulate(y, dy.reshape(dy.shape));
      for (let n = this.#nodes.length - 1; n >= 0; n--) {
        const node = this.#nodes[n]!;
        const dys = node.outputs.map((o) => take(pending, o));
        if (dys.some((d) => d !== undefined)) {
          const filled = dys.map(
            (d, i) =>
              d ??
              zeros(node.outputs[i]!.shape, {
                dtype: node.outputs[i]!.dtype,
                device: node.savedOutputs[i]!.device,
              }),
          );
          const needsGrad = node.inputs.map((t) => this.#watched.has(t));
          const inputGrads = scope(() =>
            node.grad(filled, {
              inputs: node.savedInputs,
              outputs: node.savedOutputs,
              attrs: node.attrs,
              needsGrad,
            }),
          );
          // Own a view of each result, so a gradient returned twice (add(x, x)) or passed
          // through unchanged can be released independently. These live in the caller's
          // scope (valueAndGrads runs inside one), so the final gradients move to its parent.
          const owned = inputGrads.map((g) => g?.reshape(g.shape));
          for (const g of new Set([...inputGrads, ...filled])) g?.dispose();
          node.inputs.forEach((input, i) => {
            const g = owned[i];
            if (!g) {
              if (needsGrad[i] && isFloatDType(input.dtype)) {
                for (const o of owned) o?.dispose();
                missingInputGradient(node.op, i, node.inputs.length, input);
              }
              return;
            }
            if (!this.#watched.has(input)) g.dispose();
            else {
              checkGradShape(node.op, i, input, g);
              accumulate(input, g);
            }
          });
        }
        this.#release(node);
      }
      return args.map((a) => {
        const g = take(pending, a);
        return g ?? zeros(a.shape, { dtype: a.dtype, device: a.device });
      });
    } finally {
      for (const g of pending.values()) g.dispose();
      this.dispose();
    }
  }

  #release(node: TapeNode): void {
    for (const t of node.savedInputs) t.dispose();
    for (const t of node.savedOutputs) t.dispose();
  }

  dispose(): void {
    for (const node of this.#nodes) this.#release(node);
    this.#nodes.length = 0;
  }
}

function take(map: Map<Tensor, Tensor>, key: Tensor): Tensor | undefined {
  const v = map.get(key);
  map.delete(key);
  return v;
}

/** A float input the tape differentiates through got no gradient from its op: say so. */
function missingInputGradient(op: string, index: number, inputs: number, input: Tensor): never {
  // Ops with optional inputs (attention's mask, bias, ...) list more names than a call has.
  const names = opInputNames(op);
  const name = names?.length === inputs ? names[index]! : `#${index}`;
  fail(
    'grads',
    `op "${op}" gives no gradient for its input "${name}" (${formatShape(input.shape)} ${input.dtype}), which depends on a differentiated argument; pass it as a constant (not computed from the arguments of grads)`,
  );
}

function checkGradShape(op: string, index: number, input: Tensor, g: Tensor): void {
  if (!shapesEqual(g.shape, input.shape)) {
    fail(
      'grads',
      `the gradient of op "${op}" for input ${index} is ${formatShape(g.shape)} but the input is ${formatShape(input.shape)}`,
    );
  }
}

let builtinsRegistered = false;

function ensureGradients(): void {
  if (builtinsRegistered) return;
  builtinsRegistered = true;
  registerBuiltinGradients();
}

/** Ops that declare neither a gradient nor that they are non-differentiable. */
export function missingGradients(): string[] {
  ensureGradients();
  return listMissingGradients();
}

export interface ValueAndGrads {
  value: Tensor;
  grads: Tensor[];
}

/**
 * `valueAndGrads(f)(args, dy?)`: run `f(...args)` and return its value and the gradients of
 * the value with respect to each argument (tfjs's `valueAndGrads`). `dy` is the upstream
 * gradient, shaped like the value (default ones, i.e. the gradient of `sum(f(...))`).
 * Intermediate tensors `f` makes and does not return are freed, as in `scope()`; the
 * value and the gradients belong to the caller. An argument `f` does not use gets zeros.
 */
export function valueAndGrads(
  f: (...args: Tensor[]) => Tensor,
): (args: readonly Tensor[], dy?: Tensor) => ValueAndGrads {
  return (args, dy) => {
    ensureGradients();
    for (const [i, a] of args.entries()) {
      if (!isFloatDType(a.dtype)) {
        fail('valueAndGrads', `args[${i}] must be float to take a gradient, got ${a.dtype}`);
      }
    }
    const tape = new Tape(args);
    return scope(() => {
      let value: Tensor;
      try {
        value = withRecorder(tape, () => f(...args));
      } catch (error) {
        tape.dispose();
        throw error;
      }
      if (!value || typeof value !== 'object' || !('shape' in value)) {
        tape.dispose();
        fail('valueAndGrads', 'f must return a Tensor');
      }
      if (dy && !shapesEqual(dy.shape, value.shape)) {
        tape.dispose();
        fail(
          'valueAndGrads',
          `dy ${formatShape(dy.shape)} must have the shape of f's value ${formatShape(value.shape)}`,
        );
      }
      const seed = dy ?? ones(value.shape, { dtype: value.dtype, device: value.device });
      const grads = withRecorder(undefined, () => tape.backward(value, seed, args));
      if (!dy) seed.dispose();
      return { value, grads };
    });
  };
}

/** `grads(f)(args, dy?)`: the gradients of `f` with respect to each argument (tfjs's `grads`). */
export function grads(
  f: (...args: Tensor[]) => Tensor,
): (args: readonly Tensor[], dy?: Tensor) => Tensor[] {
  const both = valueAndGrads(f);
  return (args, dy) => {
    const { value, grads } = both(args, dy);
    value.dispose();
    return grads;
  };
}
