import type { Page } from '@qkv/browser';
import { expect } from 'vitest';
import { type MatrixStack, stackAt } from '../src/model/matrix.js';
import { expectAllClose } from './close.js';

/** The model view's grid shows one map per layer and head, each equal to `want`'s. */
export async function expectModelGrid(
  page: Page,
  want: readonly MatrixStack[],
  atol: number,
  rtol: number,
): Promise<void> {
  expect(await page.locator('button.thumb').count()).toBe(want.length * want[0]!.count);
  for (const [l, layer] of want.entries()) {
    for (let k = 0; k < layer.count; k++) {
      const shown = (await page.getAttribute(
        `svg[data-name="model-${l}-${k}"] image`,
        'data-values',
      ))!
        .split(',')
        .map(Number);
      expectAllClose(shown, stackAt(layer, k).data, `layer ${l} head ${k}`, atol, rtol);
    }
  }
}
