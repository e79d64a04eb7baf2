import { ALL_GROUPS, describeGpuConformance } from '@qkv/conformance';
import { describe, expect, it } from 'vitest';
import { BACKWARD_ROWS, backwardTile } from './kernels/attention-backward-tiled.js';
import { gpuFixture } from './testing/gpu-fixture.js';

describe('backwardTile', () => {
  it('takes the largest power-of-two tile that fits the workgroup memory', () => {
    // A row of q (or k) and dOut (or v), vec4-padded, plus lse and delta: (2 + 2) * 16 + 8 bytes.
    expect(backwardTile(8, 8, 16384)).toBe(BACKWARD_ROWS);
    // (16 + 16) * 16 + 8 = 520 bytes a row: 31.5 rows fit in 16 KiB, 63 in 32 KiB.
    expect(backwardTile(64, 64, 16384)).toBe(16);
    expect(backwardTile(64, 64, 32768)).toBe(32);
    expect(backwardTile(300, 300, 16384)).toBe(4);
    // E = Ev = 512: 4104 bytes a row, four rows need 16416 > 16 KiB, so no tile.
    expect(backwardTile(512, 512, 16384)).toBeUndefined();
    expect(backwardTile(512, 512, 32768)).toBe(4);
  });
});

// The attention gradient cases (dense and block-sparse) again on a device limited to WebGPU's
// default 16 KiB of workgroup memory: smaller tiles, so other lengths cross their boundaries,
// and the per-row kernels for E = Ev = 512.
const SMALL_SHARED = 16384;
await describeGpuConformance(
  async () => {
    const { device, error } = await gpuFixture({
      poison: true,
      requiredLimits: { maxComputeWorkgroupStorageSize: SMALL_SHARED },
    });
    if (!device) throw error ?? new Error('no WebGPU adapter');
    if (device.limits.maxComputeWorkgroupStorageSize !== SMALL_SHARED) {
      throw new Error(
        `asked for ${SMALL_SHARED} bytes of workgroup memory, got ${device.limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    return device;
  },
  {
    'attention gradients, 16 KiB of workgroup memory': ALL_GROUPS['attention gradients']!,
    'block-sparse attention gradients, 16 KiB of workgroup memory':
      ALL_GROUPS['block-sparse attention gradients']!,
  },
);
