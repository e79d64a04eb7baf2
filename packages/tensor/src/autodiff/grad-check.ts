import { tensor } from '../creation.js';
import { scope } from '../lifetime.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor.js';
import { grads } from './tape.js';

/** A host-side input of a gradient check: values and shape. */
export interface CheckInput {
  readonly shape: readonly number[];
  readonly values: readonly number[];
  /** Not differentiated (indices, masks): passed through as a constant. */
  readonly constant?: Tensor;
}

export interface GradCheckResult {
  analytic: number[][];
  numeric: number[][];
}

/**
 * Central finite differences of L(x) = Σ f(x) ∘ dy for every element of every input, next
 * to the tape's gradients of the same L (CPU, tiny shapes: one forward pass per element).
 */
export function finiteDifferenceCheck(
  f: (...args: Tensor[]) => Tensor,
  inputs: readonly CheckInput[],
  options: { eps?: number; seed?: number } = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-2;
  return scope(() => {
    const args = inputs.map((i) => tensor(i.values as number[], i.shape));
    const probe = f(...args);
    const rng = new Random(options.seed ?? 1);
    const dyValues = Array.from({ length: probe.size }, () => rng.nextFloat() * 2 - 1);
    const dy = tensor(dyValues, probe.shape);
    const analytic = grads(f)(args, dy).map((g) => Array.from(g.dataSync()));
    const loss = (values: number[][]) =>
      scope(() => {
        const y = f(...values.map((v, i) => tensor(v, inputs[i]!.shape))).dataSync();
        let total = 0;
        for (let j = 0; j < y.length; j++) total += y[j]! * dyValues[j]!;
        return total;
      });
    const base = inputs.map((i) => [...i.values]);
    const numeric = inputs.map((input, a) =>
      input.values.map((v, e) => {
        base[a]![e] = v + eps;
        const up = loss(base);
        base[a]![e] = v - eps;
        const down = loss(base);
        base[a]![e] = v;
        return (up - down) / (2 * eps);
      }),
    );
    return { analytic, numeric };
  });
}
