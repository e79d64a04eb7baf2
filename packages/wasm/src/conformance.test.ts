import { ALL_GROUPS, describeConformance } from '@qkv/conformance';
import { cpu, listOps, missingKernels } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice, NATIVE_OPS } from './index.js';

// Every group, nothing excluded: ops without a native kernel run the reference kernel.
for (const threads of [1, 2]) {
  const device = await createWasmDevice({ threads });
  describeConformance(device.name, () => device, ALL_GROUPS);
}

describe('wasm backend', () => {
  it('has a kernel for every declared op', () => {
    cpu();
    expect(listOps().length).toBeGreaterThan(40);
    expect(missingKernels('wasm')).toEqual([]);
    for (const op of NATIVE_OPS) expect(listOps()).toContain(op);
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(createWasmDevice({ threads: 0 })).rejects.toThrow(/threads must be an integer/);
    await expect(createWasmDevice({ threads: 1.5 })).rejects.toThrow(/got 1.5/);
  });
});
