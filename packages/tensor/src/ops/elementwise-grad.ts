import { sumToShape } from '../autodiff/broadcast.js';
import { registerGradient, registerNonDifferentiable } from '../autodiff/gradient-registry.js';
import { isFloatDType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import {
  add,
  COMPARISONS,
  cos,
  div,
  equal,
  exp,
  greater,
  LOGICAL_BINARY,
  less,
  log,
  logicalNot,
  mul,
  neg,
  pow,
  sigmoid,
  sin,
  sub,
  tanh,
  type UnaryOpName,
  where,
} from './elementwise.js';

// Gradients of the elementwise ops (PyTorch's derivatives.yaml formulas), written with ops.

type Unary = (dy: Tensor, x: Tensor, y: Tensor) => Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const UNARY_GRADS: Record<Exclude<UnaryOpName, 'logicalNot'>, Unary> = {
  neg: (dy) => neg(dy),
  // sign(x) · dy, with sign(0) = 0 as in PyTorch.
  abs: (dy, x) => where(greater(x, 0), dy, where(less(x, 0), neg(dy), 0)),
  exp: (dy, _x, y) => mul(dy, y),
  log: (dy, x) => div(dy, x),
  sqrt: (dy, _x, y) => div(dy, mul(y, 2)),
  // d/dx x^(-1/2) = -1/2 · y³
  rsqrt: (dy, _x, y) => mul(dy, mul(pow(y, 3), -0.5)),
  sin: (dy, x) => mul(dy, cos(x)),
  cos: (dy, x) => neg(mul(dy, sin(x))),
  tanh: (dy, _x, y) => mul(dy, sub(1, mul(y, y))),
  sigmoid: (dy, _x, y) => mul(dy, mul(y, sub(1, y))),
  relu: (dy, x) => where(greater(x, 0), dy, 0),
  // gelu(x) = x·Φ(x), so gelu' = Φ(x) + x·φ(x); Φ(x) = gelu(x) / x (1/2 at 0).
  gelu: (dy, x, y) => {
    const cdf = where(equal(x, 0), 0.5, div(y, x));
    const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return mul(dy, add(cdf, mul(x, pdf)));
  },
  // y = x/2 · (1 + t), t = tanh(u), u = √(2/π)(x + 0.044715x³):
  // y' = (1 + t)/2 + x/2 · (1 − t²) · √(2/π)(1 + 3·0.044715x²)
  geluTanh: (dy, x) => {
    const x2 = mul(x, x);
    const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), SQRT_2_OVER_PI));
    const du = mul(add(mul(x2, 3 * 0.044715), 1), SQRT_2_OVER_PI);
    const right = mul(mul(mul(x, 0.5), sub(1, mul(t, t))), du);
    return mul(dy, add(mul(add(t, 1), 0.5), right));
  },
  // silu = x·s, s = sigmoid(x): silu' = s · (1 + x·(1 − s))
  silu: (dy, x) => {
    const s = sigmoid(x);
    return mul(dy, mul(s, add(mul(x, sub(1, s)), 1)));
  },
};

/** Both operands' gradients before broadcasting is undone. */
type Binary = (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor, Tensor];

/** PyTorch gives ties half the gradient each (`maximum`, `minimum` in derivatives.yaml). */
function selectGrad(dy: Tensor, a: Tensor, b: Tensor, aWins: Tensor): [Tensor, Tensor] {
  const half = mul(dy, 0.5);
  const tie = equal(a, b);
  const bWins = logicalNot(aWins);
  return [where(tie, half, where(aWins, dy, 0)), where(tie, half, where(bWins, dy, 0))];
}

const BINARY_GRADS: Record<'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum', Binary> =
  {
    add: (dy) => [dy, dy],
    sub: (dy) => [dy, neg(dy)],
    mul: (dy, a, b) => [mul(dy, b), mul(dy, a)],
    div: (dy, a, b) => [div(dy, b), neg(div(mul(dy, a), mul(b, b)))],
    // d/da a^b = b·a^(b−1); d/db a^b = a^b·ln a, taken as 0 where a = 0 and b >= 0 (PyTorch).
    pow: (dy, a, b, y) => {
      const da = mul(dy, mul(b, pow(a, sub(b, 1))));
      const lnA = where(equal(a, 0), 0, log(a));
      return [da, mul(dy, mul(y, lnA))];
    },
    maximum: (dy, a, b) => selectGrad(dy, a, b, greater(a, b)),
    minimum: (dy, a, b) => selectGrad(dy, a, b, less(a, b)),
  };

export function registerElementwiseGradients(): void {
  for (const [name, grad] of Object.entries(UNARY_GRADS)) {
    registerGradient(name, ([dy], { inputs: [x], outputs: [y] }) => [
      isFloatDType(x!.dtype) ? grad(dy!, x!, y!) : undefined,
    ]);
  }
  for (const [name, grad] of Object.entries(BINARY_GRADS)) {
    registerGradient(name, ([dy], { inputs: [a, b], outputs: [y] }) => {
      if (!isFloatDType(a!.dtype)) return [undefined, undefined];
      const [da, db] = grad(dy!, a!, b!, y!);
      return [sumToShape(da, a!.shape), sumToShape(db, b!.shape)];
    });
  }
  registerGradient('where', ([dy], { inputs: [condition, a, b] }) => {
    if (!isFloatDType(a!.dtype)) return [undefined, undefined, undefined];
    return [
      undefined,
      sumToShape(where(condition!, dy!, 0), a!.shape),
      sumToShape(where(condition!, 0, dy!), b!.shape),
    ];
  });
  registerNonDifferentiable(
    ['logicalNot', ...COMPARISONS, ...LOGICAL_BINARY],
    'the result is bool: piecewise constant, with no gradient',
  );
}
