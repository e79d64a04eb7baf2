// @qkv/browser: headless Chromium for qkv's browser tests.

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
