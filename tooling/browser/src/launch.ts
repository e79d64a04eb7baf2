import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Flags for a quiet, reproducible headless run as root on a machine without a display. */
export const BASE_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** WebGPU on SwiftShader, the CPU Vulkan driver shipped beside the Chromium binary. */
export const WEBGPU_FLAGS: readonly string[] = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
];

/**
 * Chromium's WebGPU can be switched off outright; the page then sees no `navigator.gpu`
 * (or no adapter), which is how the CPU fallback gets tested.
 */
export const NO_WEBGPU_FLAGS: readonly string[] = ['--disable-features=WebGPU,Vulkan'];

export interface LaunchOptions {
  /** Offer WebGPU on SwiftShader (default true); false disables WebGPU. */
  webgpu?: boolean;
  /** A Chromium binary to use instead of the one from `@sparticuz/chromium`. */
  executablePath?: string;
  /** Extra command-line flags. */
  args?: readonly string[];
}

let unpacked: Promise<string> | undefined;

/**
 * Unpack `@sparticuz/chromium`'s brotli-compressed Chromium (and its SwiftShader) once.
 * The package unpacks into `os.tmpdir()` and reuses any `chromium` binary it finds there,
 * whatever its version, so it is pointed at a folder of its own, named by version.
 */
export function chromiumExecutable(): Promise<string> {
  unpacked ??= (async () => {
    const dir = join(root, 'node_modules', '.cache', `qkv-chromium-${chromiumVersion()}`);
    mkdirSync(dir, { recursive: true });
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      return await chromium.executablePath();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  })();
  return unpacked;
}

/** The pinned `@sparticuz/chromium` version, so an upgrade unpacks a fresh binary. */
function chromiumVersion(): string {
  const manifest = JSON.parse(
    readFileSync(join(root, 'tooling', 'browser', 'package.json'), 'utf8'),
  );
  return String(manifest.dependencies['@sparticuz/chromium']);
}

/** Headless Chromium through playwright-core, with or without WebGPU. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const { webgpu = true, args = [] } = options;
  const executablePath =
    options.executablePath ?? process.env.QKV_CHROMIUM ?? (await chromiumExecutable());
  return playwright.launch({
    executablePath,
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : NO_WEBGPU_FLAGS), ...args],
  });
}
