import { defineConfig } from 'vitest/config';
import { sharedVitestConfig } from '../../tooling/vitest.shared.ts';

export default defineConfig(
  sharedVitestConfig({
    // Points Dawn at SwiftShader when no GPU driver is installed (see tooling/webgpu-env).
    globalSetup: ['../../tooling/webgpu-env/src/vitest-global-setup.mjs'],
    // Mesa llvmpipe (the `test:gles` run) compiles each new shader with LLVM: with a cold
    // shader cache the tiled attention backward at E = 64 takes ~80 s to compile there,
    // against well under a second on SwiftShader. The time is compilation, once per shader.
    ...(process.env.QKV_DAWN_BACKEND === 'opengles' ? { testTimeout: 300_000 } : {}),
  }),
);
