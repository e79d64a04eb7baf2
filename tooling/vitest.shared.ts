import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Tests import sibling packages by name (`@qkv/tensor`) but run against their TypeScript
 * source, so one module instance (and one op registry) is shared and no build is needed
 * before a test run.
 */
function workspaceAliases(): { find: RegExp; replacement: string }[] {
  return readdirSync(join(root, 'packages')).map((dir) => ({
    find: new RegExp(`^@qkv/${dir}$`),
    replacement: join(root, 'packages', dir, 'src', 'index.ts'),
  }));
}

export function sharedVitestConfig(overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return {
    resolve: { alias: workspaceAliases() },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      // Two cores: keep the pool small so GPU tests on the software adapter do not starve.
      maxWorkers: 2,
      testTimeout: 60_000,
      ...overrides,
    },
  };
}
