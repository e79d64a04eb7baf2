import { type OpDef, runOp } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { activeRecorder } from './hook.js';

/**
 * Run `op` on `inputs` and return its first output. When a gradient tape records the call,
 * run it with `recordedAttrs` instead: attributes under which the op also outputs what its
 * gradient reads (the attention ops' row log-sum-exp, FlashAttention-2's saved statistic),
 * from the same pass. The tape keeps its own views of those outputs, so the caller's
 * handles are released here and the caller sees one output either way.
 */
export function runOpSavingForGradient<A, P>(
  def: OpDef<A, P>,
  inputs: readonly Tensor[],
  attrs: A,
  recordedAttrs: A,
): Tensor {
  if (!activeRecorder()?.records(inputs)) return runOp(def, inputs, attrs)[0]!;
  const [out, ...saved] = runOp(def, inputs, recordedAttrs);
  for (const t of saved) t.dispose();
  return out!;
}
