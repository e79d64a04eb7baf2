#!/usr/bin/env node
// Bundles the CLI into one ESM file for machines that have Node and Dawn but no workspace
// (the lent GPU machine): `webgpu` stays external, workspace packages are bundled from
// source, and the WebGPU backend is bundled in when packages/kernels exists.
// Usage: node scripts/bundle.mjs [outfile]   (default dist/qkv-bench.mjs)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(app, '..', '..');
const outfile = resolve(process.argv[2] ?? join(app, 'dist', 'qkv-bench.mjs'));

const workspace = Object.fromEntries(
  readdirSync(join(root, 'packages'))
    .filter((dir) => existsSync(join(root, 'packages', dir, 'src', 'index.ts')))
    .map((dir) => [`@qkv/${dir}`, join(root, 'packages', dir, 'src', 'index.ts')]),
);

/** `@qkv/<dir>` from source, as the tests do, so no package build is needed first. */
const workspaceSource = {
  name: 'qkv-workspace-source',
  setup(b) {
    b.onResolve({ filter: /^@qkv\/[^/]+$/ }, (args) =>
      workspace[args.path] ? { path: workspace[args.path] } : undefined,
    );
  },
};

function packageVersions() {
  const versions = {};
  for (const [name, entry] of Object.entries(workspace)) {
    const pkg = JSON.parse(readFileSync(join(dirname(dirname(entry)), 'package.json'), 'utf8'));
    versions[name] = pkg.version;
  }
  // Dawn travels beside the bundle: report the version the kernels package resolves.
  if (workspace['@qkv/kernels']) {
    try {
      const require = createRequire(workspace['@qkv/kernels']);
      versions.webgpu = JSON.parse(
        readFileSync(require.resolve('webgpu/package.json'), 'utf8'),
      ).version;
    } catch {}
  }
  return versions;
}

function gitState() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
  } catch {
    return null;
  }
}

const withKernels = Boolean(workspace['@qkv/kernels']);
const entry = withKernels
  ? `import * as kernels from '@qkv/kernels';
import { defaultIo, runProcess } from './src/cli.ts';
await runProcess({ ...defaultIo(), kernels });`
  : `import { runProcess } from './src/cli.ts';
await runProcess();`;

await build({
  stdin: { contents: entry, resolveDir: app, loader: 'ts', sourcefile: 'bundle-entry.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  plugins: [workspaceSource],
  // Dawn is a native addon beside the bundle; esbuild only serves `dashboard --out`, which
  // this file does not need on the GPU machine.
  external: ['webgpu', 'esbuild'],
  define: { QKV_BENCH_BUILD: JSON.stringify({ packages: packageVersions(), git: gitState() }) },
  banner: {
    js: "import { createRequire as __qkvRequire } from 'node:module'; const require = __qkvRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
console.log(
  `bundle: ${outfile}${withKernels ? ' (with @qkv/kernels)' : ' (CPU only: no packages/kernels)'}`,
);
