import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BenchResult } from '../result.js';
import { dashboardHtml } from './build.js';

/**
 * onnxruntime-web's WebGPU build and the wasm it loads: what the page's live run imports from
 * `ort/` to time the same-adapter WebGPU peer.
 */
export const ORT_WEB_FILES = [
  'ort.webgpu.min.mjs',
  'ort-wasm-simd-threaded.asyncify.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
];

/** The folder of onnxruntime-web's dist files, found through the package's exports. */
export function ortWebDist(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web/webgpu'));
}

/**
 * A folder to serve over HTTP: the dashboard page as `index.html` and onnxruntime-web's files
 * under `ort/`. Returns the page's path.
 */
export async function writeSite(dir: string, results: readonly BenchResult[]): Promise<string> {
  mkdirSync(join(dir, 'ort'), { recursive: true });
  const dist = ortWebDist();
  for (const file of ORT_WEB_FILES) copyFileSync(join(dist, file), join(dir, 'ort', file));
  const page = join(dir, 'index.html');
  writeFileSync(page, await dashboardHtml(results));
  return page;
}
