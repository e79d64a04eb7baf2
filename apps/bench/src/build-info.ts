import type { Environment } from './environment.js';

export interface BuildInfo {
  packages: Record<string, string>;
  git: Environment['git'];
}

/**
 * Facts baked into a bundle (`define` in src/build), where neither node_modules nor the git
 * checkout exist at run time: the single-file CLI and the dashboard page.
 */
declare const QKV_BENCH_BUILD: BuildInfo;

export function bakedBuildInfo(): BuildInfo | undefined {
  return typeof QKV_BENCH_BUILD === 'undefined' ? undefined : QKV_BENCH_BUILD;
}
