import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './launch.js';
import { type StaticServer, serveStatic } from './static-server.js';

// A page that reports what WebGPU the browser offers; served over http://127.0.0.1 because
// navigator.gpu exists only in secure contexts.
const PROBE = `<!doctype html><title>probe</title><script type="module">
const out = document.createElement('pre'); out.id = 'out'; document.body.append(out);
let text = 'no navigator.gpu';
if (navigator.gpu) {
  const adapter = await navigator.gpu.requestAdapter();
  text = adapter ? 'adapter ' + (adapter.info?.description || adapter.info?.vendor || '') : 'no adapter';
}
out.textContent = text;
</script>`;

describe('headless Chromium', () => {
  let dir: string;
  let site: StaticServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qkv-browser-'));
    writeFileSync(join(dir, 'index.html'), PROBE);
    site = await serveStatic(dir);
  });
  afterAll(async () => {
    await site.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function probe(webgpu: boolean): Promise<string> {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser({ webgpu });
      const page = await browser.newPage();
      await page.goto(site.url);
      return (await page.locator('#out').textContent()) ?? '';
    } finally {
      await browser?.close();
    }
  }

  it('offers a WebGPU adapter on SwiftShader when asked', async () => {
    expect(await probe(true)).toMatch(/^adapter /);
  });

  it('offers no WebGPU adapter when WebGPU is disabled', async () => {
    expect(await probe(false)).toMatch(/^no /);
  });

  it('serves index.html for a folder, 404 for a missing file and 403 outside the root', async () => {
    expect((await fetch(site.url)).status).toBe(200);
    expect((await fetch(`${site.url}missing.js`)).status).toBe(404);
    const escaped = await fetch(`${site.url}..%2f..%2fetc%2fpasswd`);
    expect(escaped.status).toBe(403);
  });

  it('serves pages cross-origin isolated (COOP / COEP), so they get SharedArrayBuffer', async () => {
    const headers = (await fetch(site.url)).headers;
    expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await browser.newPage();
      await page.goto(site.url);
      expect(await page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer])).toEqual([
        true,
        'function',
      ]);
    } finally {
      await browser.close();
    }
  });
});
