import { type Tensor, tensor } from '@qkv/tensor';
import { type CompiledExpr, compileJs } from './compile-js.js';
import { fail } from './errors.js';
import { Expr, formatExpr, usesVar } from './expr.js';

/**
 * A JavaScript predicate for masks the expression language cannot say. It runs on the CPU
 * only (no WGSL), and block masks built from it evaluate every element of every block.
 */
export interface PredicateMask {
  readonly kind: 'predicate';
  readonly fn: (b: number, h: number, qIdx: number, kvIdx: number) => boolean;
  readonly dependsOnBatch: boolean;
  readonly dependsOnHead: boolean;
}

/** What masks are given as: a bool expression (`true` = may attend) or a JS predicate. */
export type Mask = Expr | PredicateMask;

export function maskFromPredicate(
  fn: (b: number, h: number, qIdx: number, kvIdx: number) => boolean,
  options: { dependsOnBatch?: boolean; dependsOnHead?: boolean } = {},
): PredicateMask {
  return {
    kind: 'predicate',
    fn,
    dependsOnBatch: options.dependsOnBatch ?? true,
    dependsOnHead: options.dependsOnHead ?? true,
  };
}

export function assertMask(where: string, mask: Mask): void {
  if (mask instanceof Expr) {
    if (mask.type !== 'bool') {
      fail(where, `a mask must be a bool expression, got the ${mask.type} ${formatExpr(mask)}`);
    }
    if (usesVar(mask, 'score')) fail(where, `a mask cannot read score: ${formatExpr(mask)}`);
  } else if (mask?.kind !== 'predicate') {
    fail(where, 'the mask must be an Expr or a maskFromPredicate(...)');
  }
}

/** The mask as a CPU function returning 1 (attend) or 0 (masked). */
export function compileMask(mask: Mask): (b: number, h: number, q: number, k: number) => number {
  if (mask instanceof Expr) {
    const f: CompiledExpr = compileJs(mask);
    return (b, h, q, k) => f(b, h, q, k, 0);
  }
  const { fn } = mask;
  return (b, h, q, k) => (fn(b, h, q, k) ? 1 : 0);
}

export function maskDependsOn(mask: Mask, index: 'b' | 'h'): boolean {
  if (mask instanceof Expr) return usesVar(mask, index);
  return index === 'b' ? mask.dependsOnBatch : mask.dependsOnHead;
}

/** The mask as a dense `[qLen, kvLen]` array of 0 / 1 for one batch and head (tests, plots). */
export function materializeMask(
  mask: Mask,
  qLen: number,
  kvLen: number,
  batchIndex = 0,
  head = 0,
): Uint8Array {
  assertMask('materializeMask', mask);
  const f = compileMask(mask);
  const out = new Uint8Array(qLen * kvLen);
  for (let q = 0; q < qLen; q++) {
    for (let k = 0; k < kvLen; k++) out[q * kvLen + k] = f(batchIndex, head, q, k);
  }
  return out;
}

/**
 * The mask as a bool tensor (`true` = may attend, the polarity of PyTorch's SDPA
 * `attn_mask`) for dense attention paths: `[qLen, kvLen]` when the mask reads neither `b`
 * nor `h`, else `[batch | 1, heads | 1, qLen, kvLen]`. Costs O(qLen * kvLen) per batch
 * item and head; sparse paths should use `createBlockMask` instead.
 */
export function maskToTensor(
  mask: Mask,
  options: { qLen: number; kvLen: number; batch?: number; heads?: number },
): Tensor<'bool'> {
  const where = 'maskToTensor';
  assertMask(where, mask);
  const { qLen, kvLen } = options;
  const dim = (index: 'b' | 'h', given: number | undefined, name: string) => {
    if (!maskDependsOn(mask, index)) return 1;
    if (given === undefined || !Number.isInteger(given) || given < 1) {
      fail(where, `the mask reads ${index}, so options.${name} must be a positive integer`);
    }
    return given;
  };
  const batch = dim('b', options.batch, 'batch');
  const heads = dim('h', options.heads, 'heads');
  const data = new Uint8Array(batch * heads * qLen * kvLen);
  for (let bi = 0; bi < batch; bi++) {
    for (let hi = 0; hi < heads; hi++) {
      data.set(materializeMask(mask, qLen, kvLen, bi, hi), (bi * heads + hi) * qLen * kvLen);
    }
  }
  const shape = batch === 1 && heads === 1 ? [qLen, kvLen] : [batch, heads, qLen, kvLen];
  return tensor(data, shape, { dtype: 'bool' });
}
