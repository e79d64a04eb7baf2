import { assertTensor, type Tensor } from '@qkv/tensor';
import { fail } from './errors.js';

/** Tensors by name, as `loadSafetensors(...).tensors` or a converted PyTorch state dict. */
export type StateDict = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

/**
 * The first of `names` present in `stateDict`, checked to be a float matrix; errors list
 * the names tried, the expected shape, and what the state dict holds.
 */
export function takeMatrix(
  where: string,
  stateDict: StateDict,
  names: readonly string[],
  expected: { rows?: number; cols?: number; rowsName: string; colsName: string },
): Tensor {
  const get = (name: string) =>
    stateDict instanceof Map ? stateDict.get(name) : (stateDict as Record<string, Tensor>)[name];
  const name = names.find((n) => get(n) !== undefined);
  const shape = `[${expected.rows ?? expected.rowsName}, ${expected.cols ?? expected.colsName}]`;
  const meaning = `${expected.rowsName} × ${expected.colsName}`;
  if (name === undefined) {
    const keys = stateDict instanceof Map ? [...stateDict.keys()] : Object.keys(stateDict);
    const listed =
      keys.slice(0, 20).join(', ') + (keys.length > 20 ? `, ... (${keys.length} in all)` : '');
    fail(
      where,
      `expected a tensor named ${names.map((n) => `'${n}'`).join(' or ')} with shape ${shape} (${meaning}); the state dict has ${keys.length ? listed : 'no tensors'}`,
    );
  }
  const t = get(name)!;
  const wrong =
    t.rank !== 2 ||
    (expected.rows !== undefined && t.shape[0] !== expected.rows) ||
    (expected.cols !== undefined && t.shape[1] !== expected.cols);
  if (wrong) {
    fail(where, `'${name}' must have shape ${shape} (${meaning}), got [${t.shape.join(', ')}]`);
  }
  if (t.dtype !== 'float32' && t.dtype !== 'float16') {
    fail(where, `'${name}' must be float32 or float16, got ${t.dtype}`);
  }
  return t;
}

/** A module's weight: a float32 / float16 matrix `[rows, cols]`; returns its two sizes. */
export function matrixSizes(
  where: string,
  weight: Tensor,
  rowsName: string,
  colsName: string,
): [number, number] {
  assertTensor(where, 'weight', weight);
  if (weight.rank !== 2 || (weight.dtype !== 'float32' && weight.dtype !== 'float16')) {
    fail(
      where,
      `weight must be a float [${rowsName}, ${colsName}] table, got [${weight.shape.join(', ')}] ${weight.dtype}`,
    );
  }
  return [weight.shape[0]!, weight.shape[1]!];
}
