import { expect } from 'vitest';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Default tolerances by dtype: f32 kernels near 1e-5 relative, float16 near its epsilon. */
export function toleranceFor(dtype: string): Tolerance {
  return dtype === 'float16' ? { atol: 2e-3, rtol: 2e-3 } : { atol: 1e-5, rtol: 1e-5 };
}

function sameNumber(a: number, b: number, tol: Tolerance): boolean {
  if (Number.isNaN(b)) return Number.isNaN(a);
  if (!Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

/**
 * Assert `|actual - expected| <= atol + rtol * |expected|` elementwise (NaN must match NaN,
 * infinities exactly). On failure, print the worst offenders as a table of index / actual /
 * expected / difference, not just "arrays differ".
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label = 'values',
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const bad: { index: number; actual: number; expected: number; diff: number }[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!sameNumber(a, e, tol))
      bad.push({ index: i, actual: a, expected: e, diff: Math.abs(a - e) });
  }
  if (bad.length > 0) {
    const worst = [...bad].sort((x, y) => (y.diff || Infinity) - (x.diff || Infinity)).slice(0, 8);
    const rows = worst.map(
      (r) => `  [${r.index}]  actual ${r.actual}  expected ${r.expected}  |diff| ${r.diff}`,
    );
    expect.fail(
      `${label}: ${bad.length} of ${expected.length} elements outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|\n${rows.join('\n')}`,
    );
  }
}

/** Exact equality for integer and bool results, with the same table on failure. */
export function expectExact(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label = 'values',
): void {
  expectClose(actual, expected, { atol: 0, rtol: 0 }, label);
}
