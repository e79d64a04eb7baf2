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
