import { BINARY_OPS, type BinaryOpName, UNARY_OPS, type UnaryOpName } from '../ops/elementwise.js';
import { cpuData, registerCpuKernel } from './cpu-device.js';
import { forEachBroadcast } from './indexing.js';
import { erf } from './math.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Each unary op's formula; the WGSL backend has the same table in WGSL. */
export const UNARY_FORMULAS: Record<UnaryOpName, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  // Hendrycks & Gimpel 2016, eq. for the tanh approximation (PyTorch approximate='tanh').
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  silu: (x) => x / (1 + Math.exp(-x)),
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

/** Each binary op's formula; comparisons and logical ops give 1 / 0. */
export const BINARY_FORMULAS: Record<BinaryOpName, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  // NaN propagates through maximum / minimum, as in torch.maximum.
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)),
  equal: (a, b) => Number(a === b),
  notEqual: (a, b) => Number(a !== b),
  less: (a, b) => Number(a < b),
  lessEqual: (a, b) => Number(a <= b),
  greater: (a, b) => Number(a > b),
  greaterEqual: (a, b) => Number(a >= b),
  logicalAnd: (a, b) => Number(a !== 0 && b !== 0),
  logicalOr: (a, b) => Number(a !== 0 || b !== 0),
};

/**
 * Integer arithmetic wraps like the 32-bit hardware it runs on (storing into an Int32Array or
 * Uint32Array does that); `mul` needs Math.imul to keep the low 32 bits exact.
 */
const INTEGER_MUL = (a: number, b: number) => Math.imul(a, b);

export function registerElementwiseKernels(): void {
  for (const name of UNARY_OPS) {
    const f = UNARY_FORMULAS[name];
    registerCpuKernel(name, ({ inputs }, [out]) => {
      const x = cpuData(inputs[0]!);
      for (let i = 0; i < x.length; i++) out![i] = f(x[i]!);
    });
  }
  for (const name of BINARY_OPS) {
    const generic = BINARY_FORMULAS[name];
    registerCpuKernel(name, ({ inputs, outputs }, [out]) => {
      const [a, b] = inputs;
      const isInt = a!.dtype === 'int32' || a!.dtype === 'uint32';
      const f = name === 'mul' && isInt ? INTEGER_MUL : generic;
      const da = cpuData(a!);
      const db = cpuData(b!);
      forEachBroadcast(outputs[0]!.shape, [a!.shape, b!.shape], (i, [oa, ob]) => {
        out![i] = f(da[oa!]!, db[ob!]!);
      });
    });
  }
  registerCpuKernel('where', ({ inputs, outputs }, [out]) => {
    const [c, a, b] = inputs.map(cpuData);
    forEachBroadcast(
      outputs[0]!.shape,
      inputs.map((t) => t.shape),
      (i, [oc, oa, ob]) => {
        out![i] = c![oc!] ? a![oa!]! : b![ob!]!;
      },
    );
  });
}
