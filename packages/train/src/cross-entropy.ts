import {
  arange,
  cast,
  div,
  equal,
  logSoftmax,
  maximum,
  mul,
  neg,
  notEqual,
  scope,
  sum,
  type Tensor,
} from '@qkv/tensor';
import { fail } from './errors.js';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (PyTorch's default -100). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy of `logits` `[..., V]` against int32 class indices `targets` `[...]`,
 * as `torch.nn.functional.cross_entropy` (classes on the last dimension, mean over the
 * targets that are not `ignoreIndex`). Computed through `logSoftmax`, so the gradient is
 * the stable softmax − one-hot divided by the count, with no separate exp or log.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const where = 'crossEntropy';
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (targets.dtype !== 'int32') fail(where, `targets must be int32, got ${targets.dtype}`);
  const lead = logits.shape.slice(0, -1);
  if (
    logits.rank < 1 ||
    targets.rank !== lead.length ||
    targets.shape.some((d, i) => d !== lead[i])
  ) {
    fail(
      where,
      `targets [${targets.shape.join(', ')}] must be the shape of logits [${logits.shape.join(', ')}] without the class dimension`,
    );
  }
  const classes = logits.shape[logits.rank - 1]!;
  return scope(() => {
    const ids = arange(classes, undefined, 1, { dtype: 'int32', device: logits.device });
    const oneHot = cast(equal(targets.reshape([...targets.shape, 1]), ids), logits.dtype);
    const kept = cast(notEqual(targets, ignoreIndex), logits.dtype);
    const picked = sum(mul(logSoftmax(logits, -1), oneHot), -1);
    // PyTorch gives NaN when every target is ignored; an empty batch here gives 0.
    return div(neg(sum(mul(picked, kept))), maximum(sum(kept), 1));
  });
}
