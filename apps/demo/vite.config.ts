import { defineConfig } from 'vite';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from '../../tooling/browser/src/isolation.ts';
import { sharedVitestConfig } from '../../tooling/vitest.shared.ts';

// The explorer builds the workspace packages from their TypeScript sources (the same aliases
// the tests use), so `vite build` needs no prior package build. `base: './'` lets the built
// dist/ be served from any path. Both servers send COOP / COEP so the page is cross-origin
// isolated and @qkv/wasm may use SharedArrayBuffer.
export default defineConfig({
  base: './',
  resolve: sharedVitestConfig().resolve,
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
  preview: { host: '127.0.0.1', port: 4173, headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
});
