import type { Device } from '@qkv/tensor';
import type { Suite, SuiteContext } from '../suite.js';
import { contextDevice, isSoftwareDevice } from './common.js';

/**
 * The device's measured peak: the rate of independent chains of fused multiply-adds with no
 * memory traffic, which no real kernel beats. The dashboard draws it as the ceiling of every
 * TFLOP/s chart of the same run. On WebGPU a WGSL kernel of `fma` on vec4 (16 chains an
 * invocation, unrolled 4x so loop overhead is small beside the arithmetic); on the CPU a
 * JavaScript loop of eight independent `a * b + c` chains, the ceiling of qkv's
 * single-threaded CPU backend (float64 scalars, as JavaScript computes).
 */
export const peakSuite: Suite = {
  name: 'peak',
  description: "measured peak FLOP/s of the device (FMA chains), the dashboard's roofline",
  async run(ctx) {
    const device = contextDevice(ctx);
    const gpu = (device as Device & { gpu?: GpuDevice }).gpu;
    if (device.backend === 'webgpu' && gpu) await gpuPeak(ctx, device, gpu);
    else await cpuPeak(ctx);
  },
};

/** FMAs per loop iteration of one invocation: 4 vec4 chains, unrolled 4 times. */
const FMAS_PER_ITERATION = 4 * 4 * 4;
const WORKGROUP = 256;

function peakWgsl(): string {
  const step = ['a0', 'a1', 'a2', 'a3'].map((a) => `    ${a} = fma(${a}, b, c);`).join('\n');
  return `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // b and c come from memory so the compiler cannot fold the chains away.
  let b = vec4f(bitcast<f32>(params[1]));
  let c = vec4f(bitcast<f32>(params[2]));
  var a0 = vec4f(f32(gid.x) * 1e-7) + vec4f(0.0, 0.1, 0.2, 0.3);
  var a1 = a0 + vec4f(0.4);
  var a2 = a0 + vec4f(0.8);
  var a3 = a0 + vec4f(1.2);
  for (var i = 0u; i < params[0]; i++) {
${[step, step, step, step].join('\n')}
  }
  out[gid.x] = dot(a0 + a1 + a2 + a3, vec4f(1.0));
}
`;
}

/** The part of a `GPUDevice` this suite uses (the bench app does not depend on WebGPU types). */
interface GpuDevice {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): {
    getBindGroupLayout(i: number): unknown;
  };
  createBuffer(d: { size: number; usage: number }): { destroy(): void };
  createBindGroup(d: {
    layout: unknown;
    entries: { binding: number; resource: { buffer: unknown } }[];
  }): unknown;
  createCommandEncoder(): {
    beginComputePass(): {
      setPipeline(p: unknown): void;
      setBindGroup(i: number, g: unknown): void;
      dispatchWorkgroups(x: number): void;
      end(): void;
    };
    finish(): unknown;
  };
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  queue: {
    writeBuffer(b: unknown, offset: number, data: ArrayBufferView): void;
    submit(buffers: unknown[]): void;
    onSubmittedWorkDone(): Promise<void>;
  };
}

// GPUBufferUsage.STORAGE | COPY_DST (numeric: Node has no GPUBufferUsage global).
const STORAGE_COPY_DST = 0x80 | 0x08;

async function gpuPeak(ctx: SuiteContext, device: Device, gpu: GpuDevice): Promise<void> {
  const software = isSoftwareDevice(device);
  // ~69 GFLOP a dispatch on hardware (about a millisecond at tens of TFLOP/s), far less on a
  // software adapter.
  const workgroups = ctx.quick ? 4 : software ? 64 : 8192;
  const iterations = ctx.quick ? 16 : software ? 64 : 256;
  const dispatches = ctx.quick || software ? 1 : 8;
  const threads = workgroups * WORKGROUP;
  (device as Device & { flush?: () => void }).flush?.();
  gpu.pushErrorScope('validation');
  const pipeline = gpu.createComputePipeline({
    layout: 'auto',
    compute: { module: gpu.createShaderModule({ code: peakWgsl() }), entryPoint: 'main' },
  });
  const params = gpu.createBuffer({ size: 16, usage: STORAGE_COPY_DST });
  const out = gpu.createBuffer({ size: threads * 4, usage: STORAGE_COPY_DST });
  const words = new Uint32Array(4);
  const floats = new Float32Array(words.buffer);
  words[0] = iterations;
  floats[1] = 0.9999;
  floats[2] = 1e-6;
  gpu.queue.writeBuffer(params, 0, words);
  const bindGroup = gpu.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: out } },
    ],
  });
  const run = async () => {
    const encoder = gpu.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    for (let i = 0; i < dispatches; i++) pass.dispatchWorkgroups(workgroups);
    pass.end();
    gpu.queue.submit([encoder.finish()]);
    await gpu.queue.onSubmittedWorkDone();
  };
  try {
    await run();
    const error = await gpu.popErrorScope();
    if (error) throw new Error(`peak: the FMA kernel failed to run: ${error.message}`);
    await ctx.measure('fma-chains', { backend: 'webgpu', threads, iterations, dispatches }, run, {
      flops: 2 * FMAS_PER_ITERATION * iterations * threads * dispatches,
      config: { fmasPerIteration: FMAS_PER_ITERATION, workgroupSize: WORKGROUP },
      trackMemory: false,
    });
  } finally {
    params.destroy();
    out.destroy();
  }
}

/** Eight independent multiply-add chains; the sum keeps the JIT from dropping them. */
function cpuChains(iterations: number, b: number, c: number): number {
  let a0 = 0.1;
  let a1 = 0.2;
  let a2 = 0.3;
  let a3 = 0.4;
  let a4 = 0.5;
  let a5 = 0.6;
  let a6 = 0.7;
  let a7 = 0.8;
  for (let i = 0; i < iterations; i++) {
    a0 = a0 * b + c;
    a1 = a1 * b + c;
    a2 = a2 * b + c;
    a3 = a3 * b + c;
    a4 = a4 * b + c;
    a5 = a5 * b + c;
    a6 = a6 * b + c;
    a7 = a7 * b + c;
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

async function cpuPeak(ctx: SuiteContext): Promise<void> {
  const iterations = ctx.quick ? 200_000 : 5_000_000;
  let sink = 0;
  await ctx.measure(
    'fma-chains',
    { backend: 'cpu', threads: 1, iterations },
    () => {
      sink += cpuChains(iterations, 0.9999, 1e-6);
    },
    { flops: 2 * 8 * iterations, config: { chains: 8, arithmetic: 'float64' } },
  );
  if (!Number.isFinite(sink)) throw new Error('peak: the CPU chains overflowed');
}
