import type { Page } from '@qkv/browser';
import { expect } from 'vitest';
import { type MatrixStack, stackAt } from '../src/model/matrix.js';
import { expectAllClose } from './close.js';

/** The values behind a heatmap drawn as one image (its `data-values`). */
export async function rasterValues(page: Page, name: string): Promise<number[]> {
  const values = await page.getAttribute(`svg[data-name="${name}"] image`, 'data-values');
  expect(values, `heatmap ${name}`).not.toBeNull();
  return values!.split(',').map(Number);
}

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
      const shown = await rasterValues(page, `model-${l}-${k}`);
      expectAllClose(shown, stackAt(layer, k).data, `layer ${l} head ${k}`, atol, rtol);
    }
  }
}
