import { cpu, listOps, missingKernels } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { ALL_GROUPS, describeConformance } from './index.js';

describeConformance('cpu', cpu, ALL_GROUPS, { propertyRuns: 50 });

describe('cpu backend', () => {
  it('has a kernel for every declared op', () => {
    cpu();
    expect(listOps().length).toBeGreaterThan(40);
    expect(missingKernels('cpu')).toEqual([]);
  });
});
