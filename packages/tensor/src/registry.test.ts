import { describe, expect, it } from 'vitest';
// Through the barrel, so every op module has declared its ops.
import {
  cpu,
  type Device,
  defineOp,
  hasKernel,
  listOps,
  missingKernels,
  registerKernel,
  runOp,
  setKernelFallback,
  tensor,
  unregisterKernel,
} from './index.js';

describe('op registry', () => {
  it('declares each op once and refuses a second declaration', () => {
    cpu();
    expect(listOps()).toContain('matmul');
    expect(() => defineOp({ name: 'matmul', inputNames: ['a'], infer: () => [] })).toThrow(
      'defineOp: op "matmul" is already defined',
    );
  });

  it('refuses to register the same kernel twice', () => {
    cpu();
    expect(hasKernel('add', 'cpu')).toBe(true);
    expect(() => registerKernel({ op: 'add', backend: 'cpu', run: () => [] })).toThrow(
      'registerKernel: a kernel for op "add" on backend "cpu" is already registered',
    );
  });

  it('runs a newly declared op on the backend that registered it, and says when none did', () => {
    const twice = defineOp<{ factor: number }>({
      name: 'test.scale',
      inputNames: ['x'],
      infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
    });
    const x = tensor([1, 2, 3], [3]);
    expect(() => runOp(twice, [x], { factor: 2 })).toThrow(
      'test.scale: no kernel is registered for backend "cpu"',
    );
    registerKernel<{ factor: number }>({
      op: 'test.scale',
      backend: 'cpu',
      run: ({ inputs, attrs, device }) => [
        device.upload(
          (inputs[0]!.storage as Float32Array).map((v) => v * attrs.factor),
          'float32',
        ),
      ],
    });
    const [out] = runOp(twice, [x], { factor: 2 });
    expect([...out!.dataSync()]).toEqual([2, 4, 6]);
    unregisterKernel('test.scale', 'cpu');
    out!.dispose();
    x.dispose();
  });

  it("runs the fallback backend's kernel for ops a backend lacks, even ops declared later", () => {
    const op = defineOp<Record<string, never>>({
      name: 'test.negate',
      inputNames: ['x'],
      infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
    });
    registerKernel<Record<string, never>>({
      op: 'test.negate',
      backend: 'cpu',
      run: ({ inputs, device }) => [
        device.upload(
          (inputs[0]!.storage as Float32Array).map((v) => -v),
          'float32',
        ),
      ],
    });
    const host = cpu();
    // A device over the CPU's typed arrays, under another backend name.
    const device: Device = {
      backend: 'test.fast',
      name: 'test.fast',
      upload: (data, dtype) => host.upload(data, dtype),
      read: (storage, dtype, size) => host.read(storage, dtype, size),
      readSync: (storage, dtype, size) => host.readSync!(storage, dtype, size),
      release: (storage) => host.release(storage),
      liveBuffers: () => host.liveBuffers(),
    };
    const x = tensor([1, -2], [2], { device });
    expect(missingKernels('test.fast')).toContain('test.negate');
    expect(() => runOp(op, [x], {})).toThrow('no kernel is registered for backend "test.fast"');
    expect(() => setKernelFallback('test.fast', 'test.fast')).toThrow(/cannot fall back on itself/);
    setKernelFallback('test.fast', 'cpu');
    expect(missingKernels('test.fast')).toEqual(missingKernels('cpu'));
    const [out] = runOp(op, [x], {});
    expect(out!.device).toBe(device);
    expect([...out!.dataSync()]).toEqual([-1, 2]);
    unregisterKernel('test.negate', 'cpu');
    out!.dispose();
    x.dispose();
  });
});
