import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';

/**
 * Save a full-page PNG as `<dir>/artifacts/<name>.png` (`artifacts/` is gitignored) and
 * return its path. `dir` is usually the package under test.
 */
export async function saveScreenshot(page: Page, dir: string, name: string): Promise<string> {
  const folder = resolve(dir, 'artifacts');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
