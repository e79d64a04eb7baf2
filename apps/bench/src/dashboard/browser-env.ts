import { bakedBuildInfo } from '../build-info.js';
import type { DeviceInfo } from '../devices.js';
import type { Environment } from '../environment.js';

/** The environment record of a run made in the visitor's browser. */
export function browserEnvironment(device: DeviceInfo): Environment {
  const nav = navigator as Navigator & { deviceMemory?: number };
  const build = bakedBuildInfo();
  return {
    node: '',
    browser: nav.userAgent,
    platform: nav.platform,
    arch: '',
    osRelease: '',
    cpu: { model: 'unknown (browser)', cores: nav.hardwareConcurrency ?? 0 },
    memoryGiB: nav.deviceMemory ?? 0,
    packages: build?.packages ?? {},
    git: build?.git ?? null,
    device,
  };
}
