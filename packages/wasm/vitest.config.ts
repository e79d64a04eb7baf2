import { defineConfig } from 'vitest/config';
import { sharedVitestConfig } from '../../tooling/vitest.shared.ts';

export default defineConfig(sharedVitestConfig());
