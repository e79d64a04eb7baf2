import { defineConfig } from 'vitest/config';
import { sharedVitestConfig } from '../vitest.shared.ts';

export default defineConfig(sharedVitestConfig());
