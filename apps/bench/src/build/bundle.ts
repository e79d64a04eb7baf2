// Bundles the CLI into one ESM file for machines that have Node and Dawn but no workspace
// (the lent GPU machine): `webgpu` stays external, workspace packages are bundled from
// source, and the WebGPU backend is bundled in when packages/kernels exists.
// Usage: tsx src/build/bundle.ts [outfile]   (default dist/qkv-bench.mjs)
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import {
  APP_DIR,
  buildInfo,
  entryWithKernels,
  workspaceEntries,
  workspaceSource,
} from './workspace.js';

const outfile = resolve(process.argv[2] ?? join(APP_DIR, 'dist', 'qkv-bench.mjs'));
const hasKernels = Boolean(workspaceEntries()['@qkv/kernels']);

await build({
  stdin: {
    contents: entryWithKernels('./src/cli.ts', 'runWithKernels', hasKernels),
    resolveDir: APP_DIR,
    loader: 'ts',
    sourcefile: 'bundle-entry.ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  plugins: [workspaceSource()],
  // Dawn is a native addon beside the bundle; esbuild only serves `--dashboard`, which the
  // GPU machine does not need.
  external: ['webgpu', 'esbuild'],
  define: { QKV_BENCH_BUILD: JSON.stringify(buildInfo()) },
  banner: {
    js: "import { createRequire as __qkvRequire } from 'node:module'; const require = __qkvRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
console.log(
  `bundle: ${outfile}${hasKernels ? ' (with @qkv/kernels)' : ' (CPU only: no packages/kernels)'}`,
);
