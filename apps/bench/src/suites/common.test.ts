import { cpu, type Device } from '@qkv/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose, isSoftwareDevice, normalData, sizesFor } from './common.js';

const gpu = (name: string): Device => ({ ...cpu(), backend: 'webgpu', name });
const sizes = { quick: [1], small: [2], large: [3] };

describe('suite helpers', () => {
  it('gives hardware GPUs the large sizes and CPU-bound devices the small ones', () => {
    expect(isSoftwareDevice(gpu('webgpu (SwiftShader Device (Subzero))'))).toBe(true);
    expect(isSoftwareDevice(gpu('webgpu (llvmpipe (LLVM 15.0.6, 256 bits))'))).toBe(true);
    expect(
      sizesFor(
        {
          quick: false,
          log() {},
          measure: async () => ({}) as never,
          device: gpu('webgpu (NVIDIA H200)'),
        },
        sizes,
      ),
    ).toEqual([3]);
    expect(sizesFor({ quick: false, log() {}, measure: async () => ({}) as never }, sizes)).toEqual(
      [2],
    );
    expect(sizesFor({ quick: true, log() {}, measure: async () => ({}) as never }, sizes)).toEqual([
      1,
    ]);
  });

  it('makes the same seeded data every time, and different data for another seed', () => {
    expect(normalData(5, 1)).toEqual(normalData(5, 1));
    expect(normalData(5, 1)).not.toEqual(normalData(5, 2));
  });

  it('compares with atol + rtol·|ref| and names the first element out of tolerance', () => {
    expect(() => assertClose('t', [1, 2.0001], [1, 2], { atol: 0, rtol: 1e-4 })).not.toThrow();
    expect(() => assertClose('t', [1, 2.001], [1, 2], { atol: 0, rtol: 1e-4 })).toThrow(
      /t: qkv and onnxruntime-node disagree at element 1: 2.001 vs 2/,
    );
    expect(() => assertClose('t', [Number.NaN], [1], { atol: 1, rtol: 1 })).toThrow(/element 0/);
    expect(() => assertClose('t', [1], [1, 2], { atol: 1, rtol: 1 })).toThrow(
      /1 values, the peer 2/,
    );
  });
});
