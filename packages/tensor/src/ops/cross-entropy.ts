import { fail } from '../errors.js';
import { scope } from '../lifetime.js';
import { defineOp, runOp } from '../registry.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { div, notEqual } from './elementwise.js';
import { cast } from './layout.js';
import { sum } from './reduce.js';
import { assertDTypeIn, assertFloat, describe } from './validate.js';

/** Attributes of the cross-entropy ops. */
export interface CrossEntropyAttrs {
  /** A target equal to this contributes no loss and no gradient. */
  readonly ignoreIndex: number;
}

/** logits `[..., V]` float and targets `[...]` int32, with the leading shapes equal. */
function checkInputs(where: string, logits: Tensor | undefined, targets: Tensor | undefined) {
  if (!logits || !targets) fail(where, 'needs logits and targets');
  assertFloat(where, 'logits', logits);
  assertDTypeIn(where, 'targets', targets, ['int32']);
  const lead = logits.shape.slice(0, -1);
  if (
    logits.rank < 1 ||
    targets.rank !== lead.length ||
    targets.shape.some((d, i) => d !== lead[i])
  ) {
    fail(
      where,
      `targets ${formatShape(targets.shape)} must be the shape of logits ${formatShape(logits.shape)} without the class (last) dimension`,
    );
  }
  return lead;
}

/**
 * Per-row cross-entropy, fused with the log-softmax: for row r with target t,
 * `loss_r = logsumexp(logits_r) − logits_r[t]` (0 where t is `ignoreIndex`), computed
 * without materialising log-softmax. Output `[...]` in logits' dtype. A target outside
 * `[0, V)` other than `ignoreIndex` is an error on the CPU and gives NaN on WebGPU.
 */
export const CrossEntropyOp = defineOp<CrossEntropyAttrs>({
  name: 'crossEntropy',
  inputNames: ['logits', 'targets'],
  infer([logits, targets]) {
    const lead = checkInputs('crossEntropy', logits, targets);
    return [{ shape: lead, dtype: logits!.dtype }];
  },
});

/**
 * The gradient of {@link CrossEntropyOp}: `dLogits_r = dy_r · (softmax(logits_r) − onehot(t))`,
 * zero for ignored rows. Inputs logits, targets and `dy` (`[...]`, logits' dtype).
 */
export const CrossEntropyBackwardOp = defineOp<CrossEntropyAttrs>({
  name: 'crossEntropyBackward',
  inputNames: ['logits', 'targets', 'dy'],
  infer([logits, targets, dy]) {
    const where = 'crossEntropyBackward';
    const lead = checkInputs(where, logits, targets);
    if (!dy || dy.dtype !== logits!.dtype || dy.shape.some((d, i) => d !== lead[i])) {
      fail(
        where,
        `dy must be shaped like targets in logits' dtype, got ${dy ? describe(dy) : 'none'}`,
      );
    }
    return [{ shape: logits!.shape, dtype: logits!.dtype }];
  },
});

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (PyTorch's default -100). */
  ignoreIndex?: number;
  /** `'mean'` over the targets that are not ignored (default), `'sum'`, or `'none'` (per row). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy of `logits` `[..., V]` (classes on the last dimension, as after PyTorch's
 * `logits.view(-1, V)`) against int32 class indices `targets` `[...]`, as
 * `torch.nn.functional.cross_entropy`: `'mean'` divides by the number of targets that are
 * not `ignoreIndex` (NaN when every target is ignored, as in PyTorch). One fused kernel
 * per direction: the gradient is softmax − one-hot, scaled by the upstream gradient.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = options.reduction ?? 'mean';
  if (!Number.isInteger(ignoreIndex)) {
    fail('crossEntropy', `ignoreIndex must be an integer, got ${ignoreIndex}`);
  }
  if (!['mean', 'sum', 'none'].includes(reduction)) {
    fail('crossEntropy', `reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  }
  return scope(() => {
    const rows = runOp(CrossEntropyOp, [logits, targets], { ignoreIndex })[0]!;
    if (reduction === 'none') return rows;
    const total = sum(rows);
    if (reduction === 'sum') return total;
    return div(total, sum(cast(notEqual(targets, ignoreIndex), logits.dtype)));
  });
}
