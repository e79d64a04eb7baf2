import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  launchBrowser,
  type Page,
  type StaticServer,
  saveScreenshot,
  serveStatic,
} from '@qkv/browser';
import { build } from 'vite';
import { afterAll, beforeAll } from 'vitest';

export const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The tiny GPT-2 checkpoint @qkv/models' reference tests use (config, safetensors, tokenizer). */
export const TINY_GPT2_DIR = resolve(appDir, '../../packages/models/fixtures/gpt2');
/** Where the test server offers it, laid out as the Hugging Face hub's resolve URLs are. */
export const TINY_GPT2_REPO = 'qkv-test/tiny-gpt2';
export const TINY_GPT2_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];

/**
 * Build the explorer with Vite into dist/<name> (test files run in parallel, each with its
 * own folder) and serve it on 127.0.0.1, with the tiny GPT-2 checkpoint at
 * `/<org>/<repo>/resolve/main/<file>` as the hub serves files.
 */
export async function buildSite(name: string): Promise<StaticServer> {
  const outDir = resolve(appDir, 'dist', name);
  await build({
    root: appDir,
    configFile: resolve(appDir, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  const hubDir = join(outDir, TINY_GPT2_REPO, 'resolve', 'main');
  mkdirSync(hubDir, { recursive: true });
  for (const file of TINY_GPT2_FILES) cpSync(join(TINY_GPT2_DIR, file), join(hubDir, file));
  return serveStatic(outDir);
}

export interface ExplorerPage {
  browser: Browser;
  page: Page;
  /** Page errors and console errors, for a test to check at the end. */
  problems: string[];
}

/**
 * Headless Chromium with or without WebGPU on `url`, waiting for the first view; console
 * errors matching `expected` (e.g. a 404 for an optional file) are not counted as problems.
 */
export async function openExplorer(
  webgpu: boolean,
  url: string,
  expected?: RegExp,
): Promise<ExplorerPage> {
  const browser = await launchBrowser({ webgpu });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected?.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector('main[data-ready="tokens"]');
  return { browser, page, problems };
}

export interface ExplorerSession extends ExplorerPage {
  webgpu: boolean;
  /** Save a screenshot of `page` (default: the session's) as `<webgpu|cpu>-<name>`. */
  shot(name: string, page?: Page): Promise<string>;
  /** A new page of the same browser 390 px wide (a phone) on the explorer; the caller closes it. */
  narrowPage(): Promise<Page>;
}

/**
 * The explorer open with or without WebGPU for the tests of the enclosing `describe`: opened
 * before them and closed after. `url` is read when it opens, after an outer `beforeAll` built
 * the site; the fields are set from then on.
 */
export function useExplorer(
  webgpu: boolean,
  url: () => string,
  expected?: RegExp,
): ExplorerSession {
  const backend = webgpu ? 'webgpu' : 'cpu';
  const session: ExplorerSession = {
    webgpu,
    browser: undefined as unknown as Browser,
    page: undefined as unknown as Page,
    problems: [],
    shot: (name, page = session.page) => saveScreenshot(page, appDir, `${backend}-${name}`),
    narrowPage: async () => {
      const page = await session.browser.newPage({ viewport: { width: 390, height: 844 } });
      await page.goto(url());
      return page;
    },
  };
  beforeAll(async () => {
    Object.assign(session, await openExplorer(webgpu, url(), expected));
  }, 60_000);
  afterAll(async () => {
    await session.browser?.close();
  });
  return session;
}
