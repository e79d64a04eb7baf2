import { cpu, liveTensors } from '@qkv/tensor';
import { afterEach, beforeEach, expect } from 'vitest';

/** Fail any test in the file that leaves tensors or CPU buffers behind. */
export function expectNoLeaks(): void {
  const device = cpu();
  let baseline = { tensors: 0, buffers: 0 };
  beforeEach(() => {
    baseline = { tensors: liveTensors(), buffers: device.liveBuffers() };
  });
  afterEach(() => {
    expect({ tensors: liveTensors(), buffers: device.liveBuffers() }).toEqual(baseline);
  });
}
