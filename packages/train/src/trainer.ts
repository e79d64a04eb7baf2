import { crossEntropy, slice, type Tensor, valueAndGrads } from '@qkv/tensor';
import { clipGradNorm } from './clip.js';
import type { Optimizer, Parameters } from './optimizers.js';
import { forward, type TransformerConfig } from './transformer.js';

export interface TrainStepOptions {
  /** Clip the gradients to this global L2 norm before the update (`clip_grad_norm_`). */
  clipNorm?: number;
}

/**
 * One step: the loss and its gradients with respect to every parameter of
 * `optimizer.params`, optional clipping, then the optimizer's update. Returns the loss
 * (a 0-d tensor the caller owns; reading it is the only wait on the device).
 */
export function trainStep(
  optimizer: Optimizer,
  loss: (params: Parameters) => Tensor,
  options: TrainStepOptions = {},
): Tensor {
  const names = [...optimizer.params.keys()];
  const args = names.map((n) => optimizer.params.get(n)!);
  const { value, grads } = valueAndGrads((...ts) =>
    loss(new Map(names.map((n, i) => [n, ts[i]!]))),
  )(args);
  let applied = grads;
  if (options.clipNorm !== undefined) {
    const clipped = clipGradNorm(grads, options.clipNorm);
    clipped.totalNorm.dispose();
    for (const g of grads) g.dispose();
    applied = clipped.grads;
  }
  optimizer.step(new Map(names.map((n, i) => [n, applied[i]!])));
  for (const g of applied) g.dispose();
  return value;
}

/**
 * Next-token cross-entropy of the transformer on int32 `tokens` `[B, T]`: position i
 * predicts token i + 1. `targetMask`, when given, is int32 `[B, T - 1]` replacement targets
 * (e.g. -100 to leave a position out of the mean).
 */
export function languageModelLoss(
  config: TransformerConfig,
  params: Parameters,
  tokens: Tensor,
  targets?: Tensor,
): Tensor {
  const t = tokens.shape[1]!;
  const logits = forward(config, params, tokens);
  const inputs = slice(logits, [null, [0, t - 1]]);
  const next = targets ?? slice(tokens, [null, [1, t]]);
  const loss = crossEntropy(inputs, next);
  logits.dispose();
  inputs.dispose();
  if (!targets) next.dispose();
  return loss;
}
