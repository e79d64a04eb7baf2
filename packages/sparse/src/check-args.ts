import { assertTensor, describeValue } from '@qkv/tensor';
import type { BlockMask } from './block-mask.js';
import { fail } from './errors.js';
import { Expr } from './expr.js';
import type { Mask } from './mask.js';

/**
 * `value` is a mask (an expression such as `causal()`, or `maskFromPredicate(...)`) or a
 * block mask from `createBlockMask`; `name` is the argument as the caller knows it.
 */
export function assertMaskOrBlockMask(
  where: string,
  name: string,
  value: unknown,
): asserts value is Mask | BlockMask {
  if (value instanceof Expr) return;
  const o = value as { kind?: unknown; qLen?: unknown; kvLen?: unknown; mask?: unknown } | null;
  if (o?.kind === 'predicate') return;
  if (typeof o?.qLen === 'number' && typeof o.kvLen === 'number' && o.mask !== undefined) return;
  fail(
    where,
    `${name} must be a @qkv/sparse mask (a pattern such as causal(), a mask expression, maskFromPredicate(...)) or a block mask from createBlockMask, got ${describeValue(value)}`,
  );
}

/** The kinds of `blockSparseAttention`'s arguments, before any of them is read. */
export function checkBlockSparseArgs(
  where: string,
  q: unknown,
  k: unknown,
  v: unknown,
  mask: unknown,
  scale: unknown,
): void {
  assertTensor(where, 'q', q);
  assertTensor(where, 'k', k);
  assertTensor(where, 'v', v);
  assertMaskOrBlockMask(where, 'mask', mask);
  if (scale !== undefined && (typeof scale !== 'number' || !Number.isFinite(scale))) {
    fail(where, `scale must be a finite number, got ${describeValue(scale)}`);
  }
}
