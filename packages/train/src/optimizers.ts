import { add, div, keep, mul, scope, sqrt, sub, type Tensor, zeros } from '@qkv/tensor';
import { fail } from './errors.js';

/**
 * Parameters by name. Tensors are immutable, so an optimizer step puts new tensors in the
 * map (disposing the old ones): read parameters from the map again after each step.
 */
export type Parameters = Map<string, Tensor>;

/** Update rule for one parameter: the new value and the new state, from the old ones. */
export abstract class Optimizer {
  protected readonly state = new Map<string, Tensor[]>();
  protected steps = 0;

  constructor(readonly params: Parameters) {}

  /** Apply one update from gradients by parameter name (every parameter needs one). */
  step(grads: ReadonlyMap<string, Tensor>): void {
    this.steps++;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) fail(this.constructor.name, `no gradient for parameter ${name}`);
      if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
        fail(
          this.constructor.name,
          `gradient of ${name} is [${g.shape.join(', ')}], parameter is [${p.shape.join(', ')}]`,
        );
      }
      const previous = this.state.get(name) ?? this.initialState(p).map(keep);
      const { value, state } = scope(() => this.update(p, g, previous));
      for (const t of previous) t.dispose();
      p.dispose();
      // Parameters and state outlive any scope the training loop runs in.
      this.params.set(name, keep(value));
      this.state.set(name, state.map(keep));
    }
  }

  protected abstract initialState(p: Tensor): Tensor[];
  protected abstract update(
    p: Tensor,
    g: Tensor,
    state: readonly Tensor[],
  ): { value: Tensor; state: Tensor[] };

  /** Release the optimizer's state (the parameters stay with the map's owner). */
  dispose(): void {
    for (const ts of this.state.values()) for (const t of ts) t.dispose();
    this.state.clear();
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

/** Stochastic gradient descent with PyTorch's momentum and (L2) weight decay. */
export class SGD extends Optimizer {
  readonly options: Required<SgdOptions>;

  constructor(params: Parameters, options: SgdOptions) {
    super(params);
    this.options = { momentum: 0, weightDecay: 0, ...options };
    if (!(options.lr > 0)) fail('SGD', `lr must be positive, got ${options.lr}`);
  }

  protected initialState(): Tensor[] {
    return [];
  }

  protected update(p: Tensor, g: Tensor, [buffer]: readonly Tensor[]) {
    const { lr, momentum, weightDecay } = this.options;
    const d = weightDecay ? add(g, mul(p, weightDecay)) : g;
    // torch.optim.SGD: the first step's buffer is the gradient itself (no dampening).
    const next = momentum ? (buffer ? add(mul(buffer, momentum), d) : mul(d, 1)) : undefined;
    return { value: sub(p, mul(next ?? d, lr)), state: next ? [next] : [] };
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter 2019); PyTorch's default 0.01. */
  weightDecay?: number;
}

/** AdamW exactly as `torch.optim.AdamW` orders it; the moments live on the device. */
export class AdamW extends Optimizer {
  readonly options: Required<AdamWOptions>;

  constructor(params: Parameters, options: AdamWOptions) {
    super(params);
    this.options = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...options };
    if (!(options.lr > 0)) fail('AdamW', `lr must be positive, got ${options.lr}`);
  }

  protected initialState(p: Tensor): Tensor[] {
    const like = { dtype: p.dtype, device: p.device };
    return [zeros(p.shape, like), zeros(p.shape, like)];
  }

  protected update(p: Tensor, g: Tensor, [m, v]: readonly Tensor[]) {
    const { lr, betas, eps, weightDecay } = this.options;
    const [b1, b2] = betas;
    const decayed = weightDecay ? mul(p, 1 - lr * weightDecay) : p;
    const m1 = add(mul(m!, b1), mul(g, 1 - b1));
    const v1 = add(mul(v!, b2), mul(mul(g, g), 1 - b2));
    const correction1 = 1 - b1 ** this.steps;
    const correction2 = 1 - b2 ** this.steps;
    const denom = add(div(sqrt(v1), Math.sqrt(correction2)), eps);
    const value = sub(decayed, mul(div(m1, denom), lr / correction1));
    return { value, state: [m1, v1] };
  }
}
