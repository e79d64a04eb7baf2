import { expect } from 'vitest';

/**
 * Expect |got - want| <= atol + rtol·|want| elementwise (equal infinities pass), listing the
 * first few mismatches as index / got / want rows rather than "arrays differ".
 */
export function expectAllClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  atol = 1e-5,
  rtol = 1e-4,
): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (g === w) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) bad.push(`[${i}] got ${g} want ${w}`);
  }
  expect(bad.slice(0, 8), `${what}: ${bad.length} of ${want.length} differ`).toEqual([]);
}
