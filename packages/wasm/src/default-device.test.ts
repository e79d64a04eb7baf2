// The helpers that make the fast CPU device what users get by default.
import { availableParallelism } from 'node:os';
import { cpu, getDefaultDevice, matmul, randn, setDefaultDevice, tensor } from '@qkv/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultThreads, sharedWasmDevice, useWasmAsDefault, WASM_BACKEND } from './index.js';

describe('the default fast CPU device', () => {
  afterEach(() => setDefaultDevice(cpu()));

  it('asks for the logical cores, 1 to 8', async () => {
    expect(await defaultThreads()).toBe(Math.min(8, Math.max(1, availableParallelism())));
  });

  it('is one device per program, threaded where Node allows', async () => {
    const [a, b] = await Promise.all([sharedWasmDevice(), sharedWasmDevice()]);
    expect(a).toBe(b);
    expect(a.backend).toBe(WASM_BACKEND);
    expect(a.threads).toBe(await defaultThreads());
  });

  it('becomes the default device, and tensors made without a device run on it', async () => {
    const device = await useWasmAsDefault();
    expect(device).toBe(await sharedWasmDevice());
    expect(getDefaultDevice()).toBe(device);
    const before = device.liveBuffers();
    const a = randn([5, 7], { seed: 1 });
    const c = matmul(a, a, { transposeB: true });
    expect(c.device).toBe(device);
    const host = tensor(a.dataSync(), [5, 7], { device: cpu() });
    const ref = matmul(host, host, { transposeB: true });
    const [got, want] = [c.dataSync(), ref.dataSync()];
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    for (const t of [a, c, host, ref]) t.dispose();
    expect(device.liveBuffers()).toBe(before);
  });

  it('takes options for a device of its own', async () => {
    const device = await useWasmAsDefault({ threads: 1 });
    expect(device).not.toBe(await sharedWasmDevice());
    expect(device.threads).toBe(1);
    expect(getDefaultDevice()).toBe(device);
  });
});
