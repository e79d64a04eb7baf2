import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { bakedBuildInfo } from './build-info.js';
import type { DeviceInfo } from './devices.js';

export interface Environment {
  /** Node's version; empty for a run in a browser, which fills `browser` instead. */
  node: string;
  /** The browser's user agent, for runs made from the dashboard page. */
  browser?: string;
  platform: string;
  arch: string;
  osRelease: string;
  cpu: { model: string; cores: number };
  memoryGiB: number;
  /** Versions of the qkv packages and peers, as installed (or as bundled). */
  packages: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
  device: DeviceInfo;
}

export const REPORTED_PACKAGES = [
  '@qkv/tensor',
  '@qkv/kernels',
  '@qkv/tokenizer',
  '@qkv/positional',
  'onnxruntime-node',
  'webgpu',
  'tiktoken',
  'js-tiktoken',
  'gpt-tokenizer',
];

export function collectEnvironment(device: DeviceInfo): Environment {
  const bundled = bakedBuildInfo();
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length },
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    packages: bundled?.packages ?? installedVersions(REPORTED_PACKAGES),
    git: bundled?.git ?? gitState(),
    device,
  };
}

/** Versions of the packages resolvable from this app; absent ones are left out. */
export function installedVersions(names: readonly string[]): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const name of names) {
    const version = packageVersion(require, name);
    if (version) out[name] = version;
  }
  return out;
}

function packageVersion(require: NodeRequire, name: string): string | undefined {
  try {
    // Some packages do not export ./package.json: find it beside the resolved entry instead.
    let dir = require.resolve(name);
    for (let i = 0; i < 6; i++) {
      dir = dirname(dir);
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (pkg.name === name) return pkg.version;
      } catch {}
    }
  } catch {}
  return undefined;
}

export function gitState(): Environment['git'] {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
  } catch {
    return null;
  }
}
