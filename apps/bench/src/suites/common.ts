import { cpu, type Device, fromTypedArray, QkvError, Random, type Tensor } from '@qkv/tensor';
import type { OnnxNodeSpec } from '../peers/onnx-model.js';
import { ORT_PACKAGE, type OrtPeer } from '../peers/onnxruntime.js';
import type { Measurement, MeasureOptions, Params, SuiteContext } from '../suite.js';

/** Seeded standard-normal float32 data, identical for qkv and its peers. */
export function normalData(size: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.nextNormal();
  return out;
}

export function contextDevice(ctx: SuiteContext): Device {
  return ctx.device ?? cpu();
}

export function upload(ctx: SuiteContext, data: Float32Array, shape: number[]): Tensor {
  return fromTypedArray(data, shape, 'float32', contextDevice(ctx));
}

/**
 * Software WebGPU adapters (SwiftShader, Mesa's llvmpipe / lavapipe) run on the CPU and take
 * tens of milliseconds for a 256³ matmul: they get the CPU's sizes.
 */
export function isSoftwareDevice(device: Device): boolean {
  return (
    device.backend === 'cpu' ||
    device.backend === 'wasm' ||
    /swiftshader|llvmpipe|lavapipe|software/i.test(device.name)
  );
}

/**
 * The largest storage binding the device allows (`maxStorageBufferBindingSize` on WebGPU);
 * unbounded on the CPU.
 */
export function maxBindingBytes(device: Device): number {
  const limits = (device as Device & { limits?: { maxStorageBufferBindingSize?: number } }).limits;
  return limits?.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY;
}

/** Sizes for the device at hand: hardware GPUs get larger problems than CPU-bound devices. */
export function sizesFor(
  ctx: SuiteContext,
  sizes: { quick: number[]; small: number[]; large: number[] },
): number[] {
  if (ctx.quick) return sizes.quick;
  return isSoftwareDevice(contextDevice(ctx)) ? sizes.small : sizes.large;
}

export interface PeerCase {
  suite: string;
  params: Params;
  options: MeasureOptions;
  /** Runs the qkv op once on inputs already on the device; the runner times it. */
  qkv: () => Tensor;
  /** The same computation as a single ONNX node, with its inputs as host data. */
  onnx?: { node: OnnxNodeSpec; inputs: Float32Array[] };
  tolerance: { atol: number; rtol: number };
}

/**
 * Measure qkv and, when loaded, onnxruntime-node on one case, after checking once that both
 * give the same result within `atol + rtol * |ref|` (a fast wrong answer is not a result).
 */
export async function measureWithPeer(
  ctx: SuiteContext,
  ort: OrtPeer | undefined,
  c: PeerCase,
): Promise<void> {
  const settle = ctx.settle ?? (async () => {});
  const first = c.qkv();
  const ours = (await first.data()) as Float32Array;
  first.dispose();
  await ctx.measure(
    'qkv',
    c.params,
    async () => {
      const out = c.qkv();
      await settle(out);
      out.dispose();
    },
    c.options,
  );
  if (!ort || !c.onnx) return;
  const graph = await ort.graph(c.onnx.node, c.onnx.inputs);
  try {
    assertClose(`${c.suite} ${JSON.stringify(c.params)}`, ours, await graph.run(), c.tolerance, [
      'qkv',
      ort.name,
    ]);
    await ctx.measure(ort.name, c.params, () => graph.run(), {
      ...c.options,
      config: { threads: ort.threads, version: ort.version },
      trackMemory: false,
    });
  } finally {
    await graph.release();
  }
}

export function assertClose(
  where: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol, rtol }: { atol: number; rtol: number },
  names: [string, string] = ['qkv', ORT_PACKAGE],
): void {
  if (actual.length !== expected.length) {
    throw new QkvError(
      `${where}: ${names[0]} gave ${actual.length} values, ${names[1]} ${expected.length}`,
    );
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new QkvError(
        `${where}: ${names[0]} and ${names[1]} disagree at element ${i}: ${a} vs ${e} (atol ${atol}, rtol ${rtol})`,
      );
    }
  }
}

/**
 * Time one qkv op by name: each call runs `op`, waits for the device to finish it and frees
 * the result.
 */
export function measureOp(
  ctx: SuiteContext,
  name: string,
  params: Params,
  op: () => Tensor,
  options: MeasureOptions,
): Promise<Measurement> {
  const settle = ctx.settle ?? (async () => {});
  return ctx.measure(
    name,
    params,
    async () => {
      const out = op();
      await settle(out);
      out.dispose();
    },
    options,
  );
}
