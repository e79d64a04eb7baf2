import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expectClose, noGpuTest } from '@qkv/conformance';
import { createWebGPUDevice } from '@qkv/kernels';
import { cpu, type Device, liveTensors, type Tensor } from '@qkv/tensor';
import { sharedWasmDevice } from '@qkv/wasm';
import { afterEach, beforeEach, describe, expect } from 'vitest';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface Encoded {
  shape: number[];
  data: number[];
}

export interface ExpectedCase {
  mask: 'none' | 'right' | 'left';
  attentionMask: number[][] | null;
  logits?: Encoded;
  lastHiddenState: Encoded;
  attentions?: Encoded[];
}

export interface Expected {
  inputIds: number[][];
  tokenTypeIds?: number[][];
  cases: ExpectedCase[];
  greedy?: { prompt: number[]; newTokens: number[] };
}

/** What fixtures/generate.py wrote for one model. */
export function expected(dir: string): Expected {
  return JSON.parse(readFileSync(`${FIXTURES}${dir}/expected.json`, 'utf8')) as Expected;
}

/** float32 forward passes against float64 PyTorch. */
export const TOLERANCE = { atol: 1e-4, rtol: 1e-4 };

/**
 * Compare `actual` `[B, L, ...]` with the reference at the positions `mask` marks as tokens
 * (padded positions' outputs are unspecified, as in Hugging Face).
 */
export async function expectCloseAtTokens(
  actual: Tensor,
  ref: Encoded,
  mask: number[][] | null,
  what: string,
): Promise<void> {
  if (actual.shape.join() !== ref.shape.join()) {
    throw new Error(`${what}: shape [${actual.shape}] but the reference is [${ref.shape}]`);
  }
  const data = await actual.data();
  const [b, l] = ref.shape as [number, number];
  const inner = ref.data.length / (b * l);
  const got: number[] = [];
  const want: number[] = [];
  for (let i = 0; i < b * l; i++) {
    if (mask && mask[Math.floor(i / l)]![i % l] === 0) continue;
    for (let j = 0; j < inner; j++) {
      got.push(data[i * inner + j]!);
      want.push(ref.data[i * inner + j]!);
    }
  }
  expectClose(Float32Array.from(got), want, TOLERANCE, what);
}

export type DeviceFactory = () => Promise<Device>;

/**
 * Run `body` on the reference CPU backend, on the fast CPU device (`loadModel`'s default) and
 * on WebGPU (SwiftShader without a GPU, outputs poisoned). Without an adapter the WebGPU part
 * fails under QKV_REQUIRE_GPU=1 and is skipped with the reason otherwise.
 */
export async function describeOnDevices(
  name: string,
  body: (device: () => Device) => void,
): Promise<void> {
  describe(`${name} on cpu`, () => body(() => cpu()));
  const wasm = await sharedWasmDevice();
  describe(`${name} on wasm`, () => body(() => wasm));
  let gpu: Device | undefined;
  let reason = '';
  try {
    gpu = await createWebGPUDevice({ poison: true });
  } catch (error) {
    reason = (error as Error).message;
  }
  if (gpu) {
    const d = gpu;
    describe(`${name} on webgpu`, () => body(() => d));
  } else {
    describe(`${name} on webgpu`, () => noGpuTest('every case', reason));
  }
}

/**
 * Every test in the enclosing block must end with as many live tensors and buffers as it
 * began; buffers on `device`, or by default on the CPU and on `loadModel`'s default device.
 */
export function expectNoLeaks(device?: () => Device): void {
  let tensorsBefore = 0;
  let buffersBefore = 0;
  let devices: Device[] = [];
  const buffers = () => devices.reduce((sum, d) => sum + d.liveBuffers(), 0);
  beforeEach(async () => {
    devices = device ? [device()] : [cpu(), await sharedWasmDevice()];
    tensorsBefore = liveTensors();
    buffersBefore = buffers();
  });
  afterEach(() => {
    expect(liveTensors(), 'live tensors after the test').toBe(tensorsBefore);
    expect(buffers(), 'live buffers after the test').toBe(buffersBefore);
  });
}
