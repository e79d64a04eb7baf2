import { defineConfig } from 'vitest/config';
import { sharedVitestConfig } from '../../tooling/vitest.shared.ts';

export default defineConfig(
  sharedVitestConfig({
    // Points Dawn at SwiftShader when no GPU driver is installed (see tooling/webgpu-env).
    globalSetup: ['../../tooling/webgpu-env/src/vitest-global-setup.mjs'],
  }),
);
