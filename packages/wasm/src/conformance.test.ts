import { ALL_GROUPS, describeConformance } from '@qkv/conformance';
import { cpu, listOps, missingKernels } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmDevice, NATIVE_OPS } from './index.js';

const device = await createWasmDevice();

describeConformance('wasm', () => device, ALL_GROUPS);

describe('wasm backend', () => {
  it('has a kernel for every declared op', () => {
    cpu();
    expect(listOps().length).toBeGreaterThan(40);
    expect(missingKernels('wasm')).toEqual([]);
    for (const op of NATIVE_OPS) expect(listOps()).toContain(op);
  });
});
