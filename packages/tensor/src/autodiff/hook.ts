import type { Tensor } from '../tensor.js';

/**
 * What the op runner and `Tensor.reshape` tell an active gradient tape. Kept in its own
 * module with type-only imports so the core (registry, tensor) does not depend on autodiff.
 */
export interface OpRecorder {
  recordOp(op: string, inputs: readonly Tensor[], attrs: unknown, outputs: readonly Tensor[]): void;
  recordView(source: Tensor, view: Tensor): void;
  /**
   * Whether an op called on `inputs` now would be recorded (one of them is watched), so a
   * front-end can ask the op for what its gradient needs (e.g. `attention`'s log-sum-exp).
   */
  records(inputs: readonly Tensor[]): boolean;
}

const recorders: (OpRecorder | undefined)[] = [];

/** The innermost recorder, or undefined when no tape is recording. */
export function activeRecorder(): OpRecorder | undefined {
  return recorders[recorders.length - 1];
}

/** Run `fn` with `recorder` (undefined: none) as the active recorder. */
export function withRecorder<T>(recorder: OpRecorder | undefined, fn: () => T): T {
  recorders.push(recorder);
  try {
    return fn();
  } finally {
    recorders.pop();
  }
}
