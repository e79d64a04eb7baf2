import { broadcastTo } from '../autodiff/broadcast.js';
import { registerGradient, registerNonDifferentiable } from '../autodiff/gradient-registry.js';
import type { Tensor } from '../tensor.js';
import { div, equal, exp, mul, sub } from './elementwise.js';
import { cast } from './layout.js';
import { type ReduceAttrs, type SoftmaxAttrs, sum } from './reduce.js';

/** The reduced output (or its gradient) with the reduced axis back as size 1. */
function unsqueezed(t: Tensor, x: Tensor, { axis, keepDim }: ReduceAttrs): Tensor {
  return keepDim ? t : t.reshape(x.shape.map((d, i) => (i === axis ? 1 : d)));
}

export function registerReduceGradients(): void {
  registerGradient<ReduceAttrs>('sum', ([dy], { inputs: [x], attrs }) => [
    broadcastTo(unsqueezed(dy!, x!, attrs), x!.shape),
  ]);
  registerGradient<ReduceAttrs>('mean', ([dy], { inputs: [x], attrs }) => [
    broadcastTo(div(unsqueezed(dy!, x!, attrs), x!.shape[attrs.axis]!), x!.shape),
  ]);
  // Ties share the gradient evenly (PyTorch's amax / amin).
  for (const name of ['max', 'min']) {
    registerGradient<ReduceAttrs>(name, ([dy], { inputs: [x], outputs: [y], attrs }) => {
      const hits = cast(equal(x!, unsqueezed(y!, x!, attrs)), x!.dtype);
      const count = sum(hits, attrs.axis, true);
      return [mul(hits, div(unsqueezed(dy!, x!, attrs), count))];
    });
  }
  // d/dx logsumexp(x) = softmax(x) = exp(x − y).
  registerGradient<ReduceAttrs>('logsumexp', ([dy], { inputs: [x], outputs: [y], attrs }) => [
    mul(exp(sub(x!, unsqueezed(y!, x!, attrs))), unsqueezed(dy!, x!, attrs)),
  ]);
  registerNonDifferentiable(['argmax'], 'an index: piecewise constant, with no gradient');
  // softmax: dx = y · (dy − Σ dy·y)
  registerGradient<SoftmaxAttrs>('softmax', ([dy], { outputs: [y], attrs }) => [
    mul(y!, sub(dy!, sum(mul(dy!, y!), attrs.axis, true))),
  ]);
  // logSoftmax: dx = dy − exp(y) · Σ dy
  registerGradient<SoftmaxAttrs>('logSoftmax', ([dy], { outputs: [y], attrs }) => [
    sub(dy!, mul(exp(y!), sum(dy!, attrs.axis, true))),
  ]);
}
