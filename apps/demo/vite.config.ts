import { defineConfig } from 'vite';
import { sharedVitestConfig } from '../../tooling/vitest.shared.ts';

// The explorer builds the workspace packages from their TypeScript sources (the same aliases
// the tests use), so `vite build` needs no prior package build. `base: './'` lets the built
// dist/ be served from any path.
export default defineConfig({
  base: './',
  resolve: sharedVitestConfig().resolve,
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 4096 },
  preview: { host: '127.0.0.1', port: 4173 },
});
