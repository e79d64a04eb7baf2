import { registerGradient } from '../autodiff/gradient-registry.js';
import type { Tensor } from '../tensor.js';
import { add, mul, rsqrt, sub } from './elementwise.js';
import type { NormAttrs } from './norm.js';
import { mean, sum } from './reduce.js';

/**
 * Shared tail of both norms: with x̂ the normalised input (rows of the normalised size n),
 * r the reciprocal scale and g = dy·w, dx = r·(g − mean(g) − x̂·mean(g·x̂)) for layerNorm
 * and r·(g − x̂·mean(g·x̂)) for rmsNorm (which subtracts no mean).
 */
function normGrad(
  dy: Tensor,
  x: Tensor,
  inputs: readonly Tensor[],
  attrs: NormAttrs,
  centred: boolean,
): (Tensor | undefined)[] {
  const n = x.shape.slice(x.rank - attrs.normalizedDims).reduce((p, d) => p * d, 1);
  const rows = x.reshape([-1, n]);
  const centredRows = centred ? sub(rows, mean(rows, 1, true)) : rows;
  const r = rsqrt(add(mean(mul(centredRows, centredRows), 1, true), attrs.eps));
  const xHat = mul(centredRows, r);
  const dyRows = dy.reshape([-1, n]);
  const weight = attrs.hasWeight ? inputs[1]!.reshape([n]) : undefined;
  const g = weight ? mul(dyRows, weight) : dyRows;
  let inner = sub(g, mul(xHat, mean(mul(g, xHat), 1, true)));
  if (centred) inner = sub(inner, mean(g, 1, true));
  const dx = mul(inner, r).reshape(x.shape);
  const paramShape = x.shape.slice(x.rank - attrs.normalizedDims);
  const out: (Tensor | undefined)[] = [dx];
  if (attrs.hasWeight) out.push(sum(mul(dyRows, xHat), 0).reshape(paramShape));
  if (attrs.hasBias) out.push(sum(dyRows, 0).reshape(paramShape));
  return out;
}

export function registerNormGradients(): void {
  registerGradient<NormAttrs>('layerNorm', ([dy], { inputs, attrs }) =>
    normGrad(dy!, inputs[0]!, inputs, attrs, true),
  );
  registerGradient<NormAttrs>('rmsNorm', ([dy], { inputs, attrs }) =>
    normGrad(dy!, inputs[0]!, inputs, attrs, false),
  );
}
