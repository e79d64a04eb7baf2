import { add, arange, neg, sum, tensor, zeros } from '@qkv/tensor';
import { expect, it } from 'vitest';
import { createWebGPUDevice } from './create-device.js';
import { pipelineCount } from './runtime/pipeline-cache.js';
import { compareWithCpu, cpuRandn } from './testing/compare.js';
import { adapterFromEnv, gpuFixture } from './testing/gpu-fixture.js';
import { NO_PARAMS } from './wgsl/params.js';

const gpu = await gpuFixture();

gpu.test('ops are batched: one submit per read, not per op', async (device) => {
  const x = tensor([1, 2, 3], [3], { device });
  device.flush();
  const before = device.submitCount;
  let y = add(x, 1);
  for (let i = 0; i < 9; i++) {
    const next = add(y, 1);
    y.dispose();
    y = next;
  }
  expect(device.submitCount).toBe(before);
  expect(Array.from(await y.data())).toEqual([11, 12, 13]);
  expect(device.submitCount).toBe(before + 1);
  x.dispose();
  y.dispose();
});

it('a full batch is submitted without waiting for a read', async () => {
  const device = await createWebGPUDevice({ ...adapterFromEnv(), batchSize: 4 });
  const x = tensor([1, 2], [2], { device });
  const outs = Array.from({ length: 10 }, () => neg(x));
  expect(device.submitCount).toBe(2);
  expect(Array.from(await outs[9]!.data())).toEqual([-1, -2]);
  expect(device.submitCount).toBe(3);
  for (const t of [x, ...outs]) t.dispose();
  expect(device.liveBuffers()).toBe(0);
  device.destroy();
});

gpu.test('released buffers are reused and pipelines are cached by key', async (device) => {
  const x = tensor([1, 2, 3, 4], [4], { device });
  const step = async () => {
    const y = neg(x);
    await y.data();
    y.dispose();
  };
  await step();
  const created = device.buffersCreated;
  const pipelines = pipelineCount(device.gpu);
  for (let i = 0; i < 3; i++) await step();
  expect(device.buffersCreated).toBe(created);
  expect(pipelineCount(device.gpu)).toBe(pipelines);
  // Another size of the same rank reuses the pipeline.
  const z = tensor([1, 2, 3, 4, 5, 6, 7], [7], { device });
  const w = neg(z);
  expect(pipelineCount(device.gpu)).toBe(pipelines);
  for (const t of [x, z, w]) t.dispose();
});

gpu.test(
  'dispatches past maxComputeWorkgroupsPerDimension are folded',
  async (device) => {
    const max = device.limits.maxComputeWorkgroupsPerDimension;
    expect(device.grid(max + 5, 'test')).toEqual([max, 2, 1]);
    // 64 elements per workgroup: one more workgroup than a single dimension allows.
    const n = max * 64 + 100;
    const x = arange(n, undefined, 1, { dtype: 'float32', device });
    const y = neg(x);
    const data = await y.data();
    expect(data.every((v, i) => v === -i)).toBe(true);
    x.dispose();
    y.dispose();
    const rows = cpuRandn([max + 3, 2]);
    await compareWithCpu(
      device,
      [rows],
      ([t]) => sum(t!, 1),
      { atol: 1e-6, rtol: 1e-6 },
      'rows past one dimension',
    );
    rows.dispose();
  },
  120_000,
);

gpu.test('a tensor over maxStorageBufferBindingSize is a clear error', (device) => {
  const limit = device.limits.maxStorageBufferBindingSize;
  expect(() => device.allocate('float32', limit / 4 + 1, 'add')).toThrow(
    /add: a float32 tensor of \d+ elements needs \d+ bytes, over this device's maxStorageBufferBindingSize/,
  );
});

it('WebGPU errors and device loss surface on the next operation', async () => {
  const device = await createWebGPUDevice(adapterFromEnv());
  const x = zeros([4], { device });
  device.dispatch({
    kernel: 'broken',
    spec: {},
    source: () => 'this is not WGSL',
    inputs: [],
    outputs: [],
    params: NO_PARAMS,
    count: 0,
    workgroups: 1,
  });
  await expect(x.data()).rejects.toThrow(/WebGPU reported an error/);
  // Reported once: the device still works afterwards.
  expect(Array.from(await x.data())).toEqual([0, 0, 0, 0]);
  x.dispose();
  device.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(() => tensor([1], [1], { device })).toThrow(/the GPU device was lost/);
});

it('asking for a missing feature names it', async () => {
  await expect(
    createWebGPUDevice({
      ...adapterFromEnv(),
      requiredFeatures: ['texture-compression-etc2', 'no-such-feature' as GPUFeatureName],
    }),
  ).rejects.toThrow(/lacks required features: no-such-feature/);
});

it('Dawn toggles reach the device', async () => {
  const device = await createWebGPUDevice({
    ...adapterFromEnv(),
    dawnToggles: { disable: ['timestamp_quantization'], enable: ['disable_robustness'] },
  });
  const x = tensor([1, -2], [2], { device });
  const y = neg(x);
  expect(Array.from(await y.data())).toEqual([-1, 2]);
  x.dispose();
  y.dispose();
  device.destroy();
});

gpu.test(
  'bytesInUse follows live storage and peakBytes keeps its high-water mark',
  async (device) => {
    device.flush();
    const base = device.bytesInUse;
    device.resetPeakBytes();
    expect(device.peakBytes).toBe(base);
    // 1000 float32 words round up to a 4 KiB bucket; 300 000 words (1.2 MB) to 1.25 MiB.
    const small = zeros([1000], { device });
    expect(device.bytesInUse).toBe(base + 4096);
    const large = zeros([300_000], { device });
    const largeBytes = 1.25 * 2 ** 20;
    expect(device.bytesInUse).toBe(base + 4096 + largeBytes);
    large.dispose();
    device.flush();
    expect(device.bytesInUse).toBe(base + 4096);
    expect(device.peakBytes).toBe(base + 4096 + largeBytes);
    // A reset starts from what is in use now; a reused buffer counts again.
    device.resetPeakBytes();
    expect(device.peakBytes).toBe(base + 4096);
    const again = neg(small);
    const total = sum(again);
    await total.data();
    expect(device.peakBytes).toBeGreaterThanOrEqual(base + 2 * 4096);
    expect(device.peakBytes).toBeLessThan(base + 4096 + largeBytes);
    for (const t of [small, again, total]) t.dispose();
    device.flush();
    expect(device.bytesInUse).toBe(base);
  },
);
