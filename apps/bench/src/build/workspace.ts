import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import type { BuildInfo } from '../build-info.js';
import { gitState } from '../environment.js';

/** esbuild helpers shared by the single-file CLI bundle and the dashboard page. */

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOT = resolve(APP_DIR, '..', '..');

/** `@qkv/<dir>` → `packages/<dir>/src/index.ts` for every package with sources. */
export function workspaceEntries(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(join(ROOT, 'packages'))
      .filter((dir) => existsSync(join(ROOT, 'packages', dir, 'src', 'index.ts')))
      .map((dir) => [`@qkv/${dir}`, join(ROOT, 'packages', dir, 'src', 'index.ts')]),
  );
}

/** Bundle workspace packages from source, as the tests run them: no package build needed. */
export function workspaceSource(): Plugin {
  const entries = workspaceEntries();
  return {
    name: 'qkv-workspace-source',
    setup(build) {
      build.onResolve({ filter: /^@qkv\/[^/]+$/ }, (args) =>
        entries[args.path] ? { path: entries[args.path]! } : undefined,
      );
    },
  };
}

/**
 * What `environment.ts` reads as QKV_BENCH_BUILD where neither node_modules nor the checkout
 * exist at run time: workspace package versions, Dawn's when the kernels package has it,
 * and the git commit.
 */
export function buildInfo(): BuildInfo {
  const packages: Record<string, string> = {};
  const entries = workspaceEntries();
  for (const [name, entry] of Object.entries(entries)) {
    packages[name] = JSON.parse(
      readFileSync(join(dirname(dirname(entry)), 'package.json'), 'utf8'),
    ).version;
  }
  const kernels = entries['@qkv/kernels'];
  if (kernels) {
    try {
      const require = createRequire(kernels);
      packages.webgpu = JSON.parse(
        readFileSync(require.resolve('webgpu/package.json'), 'utf8'),
      ).version;
    } catch {}
  }
  return { packages, git: gitState() };
}

/**
 * An entry that hands `@qkv/kernels` to `start` when the package exists, so a bundle carries
 * the WebGPU backend without the runner importing it by name.
 */
export function entryWithKernels(module: string, start: string, hasKernels: boolean): string {
  return hasKernels
    ? `import * as kernels from '@qkv/kernels';\nimport { ${start} } from '${module}';\n${start}(kernels);`
    : `import { ${start} } from '${module}';\n${start}();`;
}
