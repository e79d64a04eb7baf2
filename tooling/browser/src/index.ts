// @qkv/browser: headless Chromium for qkv's browser tests.

export type { Browser, Page } from 'playwright-core';
export { CROSS_ORIGIN_ISOLATION_HEADERS } from './isolation.js';
export {
  BASE_FLAGS,
  chromiumExecutable,
  type LaunchOptions,
  launchBrowser,
  NO_WEBGPU_FLAGS,
  WEBGPU_FLAGS,
} from './launch.js';
export { saveScreenshot } from './screenshot.js';
export { type StaticServer, serveStatic } from './static-server.js';
