import { describeValue, formatShape, isTensor, type Tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/** Parameter name → expected shape, in PyTorch's `state_dict()` order. */
export type ParameterShapes = ReadonlyMap<string, readonly number[]>;

export interface MhaShapeConfig {
  embedDim: number;
  kdim: number;
  vdim: number;
  /** Width of the key / value projections: `numKvHeads * headDim` (= embedDim without GQA). */
  kvDim: number;
  bias: boolean;
  addBiasKv: boolean;
}

/** Packed projection (`in_proj_weight`) exactly when PyTorch uses one: kdim = vdim = embedDim. */
export function usesPackedProjection(c: MhaShapeConfig): boolean {
  return c.kdim === c.embedDim && c.vdim === c.embedDim;
}

/**
 * The parameters `torch.nn.MultiheadAttention` would have for this configuration. With
 * grouped-query attention the k / v rows of `in_proj_weight` / `in_proj_bias` shrink to
 * `kvDim` each (PyTorch has no GQA; the layout is otherwise the same: q, then k, then v).
 */
export function expectedParameters(c: MhaShapeConfig): ParameterShapes {
  const { embedDim: e, kvDim, kdim, vdim } = c;
  const shapes = new Map<string, number[]>();
  if (usesPackedProjection(c)) {
    shapes.set('in_proj_weight', [e + 2 * kvDim, e]);
  } else {
    shapes.set('q_proj_weight', [e, e]);
    shapes.set('k_proj_weight', [kvDim, kdim]);
    shapes.set('v_proj_weight', [kvDim, vdim]);
  }
  if (c.bias) shapes.set('in_proj_bias', [e + 2 * kvDim]);
  if (c.addBiasKv) {
    shapes.set('bias_k', [1, 1, kvDim]);
    shapes.set('bias_v', [1, 1, kvDim]);
  }
  shapes.set('out_proj.weight', [e, e]);
  if (c.bias) shapes.set('out_proj.bias', [e]);
  return shapes;
}

/**
 * Check a state dict against the expected parameters: every name present, none extra, every
 * shape right. One error lists all problems and every expected `name [shape]`.
 */
export function checkStateDict(
  where: string,
  record: Readonly<Record<string, Tensor>>,
  expected: ParameterShapes,
): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const t = record[name];
    if (!t) problems.push(`missing ${name}`);
    else if (!isTensor(t)) problems.push(`${name} is ${describeValue(t)}, expected a Tensor`);
    else if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} is ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    } else if (t.dtype !== 'float32' && t.dtype !== 'float16') {
      problems.push(`${name} is ${t.dtype}, expected a float dtype`);
    }
  }
  for (const name of Object.keys(record)) {
    if (!expected.has(name)) problems.push(`unexpected ${name}`);
  }
  if (problems.length > 0) {
    const list = [...expected].map(([n, s]) => `${n} ${formatShape(s)}`).join(', ');
    fail(where, `${problems.join('; ')}. Expected exactly: ${list}`);
  }
}
