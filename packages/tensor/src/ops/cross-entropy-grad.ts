import { registerGradient } from '../autodiff/gradient-registry.js';
import { runOp } from '../registry.js';
import { type CrossEntropyAttrs, CrossEntropyBackwardOp, CrossEntropyOp } from './cross-entropy.js';

export function registerCrossEntropyGradients(): void {
  // Integer targets have no gradient.
  registerGradient<CrossEntropyAttrs>(
    CrossEntropyOp,
    ([dy], { inputs: [logits, targets], attrs }) => [
      runOp(CrossEntropyBackwardOp, [logits!, targets!, dy!], attrs)[0]!,
      undefined,
    ],
  );
}
