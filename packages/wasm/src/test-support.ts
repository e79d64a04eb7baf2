// Test helpers: inputs mirrored on the float64 reference backend and on a wasm device, and
// a check that every test hands back the buffers it made.
import {
  cpu,
  debugFlags,
  fromTypedArray,
  rand,
  type Shape,
  type Tensor,
  tensor,
} from '@qkv/tensor';
import { afterEach, beforeEach, expect } from 'vitest';
import type { WasmDevice } from './wasm-device.js';

export interface Mirrors {
  /** A reference tensor and its copy on the wasm device. */
  mirror(ref: Tensor): [Tensor, Tensor];
  /** Fresh uniform values in [low, high), on both. */
  pair(shape: Shape, low?: number, high?: number): [Tensor, Tensor];
  /** Fresh values whose rows `keys` (second-to-last axis) hold `poison`, on both. */
  poisoned(shape: Shape, keys: (j: number) => boolean, poison: number): [Tensor, Tensor];
}

export function mirrors(device: WasmDevice): Mirrors {
  let seed = 1;
  const mirror = (ref: Tensor): [Tensor, Tensor] => [
    ref,
    fromTypedArray(ref.dataSync(), ref.shape, ref.dtype, device),
  ];
  return {
    mirror,
    pair: (shape, low = -1, high = 1) =>
      mirror(rand(shape, { device: cpu(), low, high, seed: seed++ })),
    poisoned(shape, keys, poison) {
      const ref = rand(shape, { device: cpu(), low: -1, high: 1, seed: seed++ });
      const s = shape.at(-2)!;
      const d = shape.at(-1)!;
      const data = ref.dataSync().map((x, i) => (keys(Math.floor(i / d) % s) ? poison : x));
      ref.dispose();
      return mirror(tensor(Array.from(data), shape, { device: cpu() }));
    },
  };
}

/** Poison every kernel output and check each test frees the device buffers it made. */
export function checkBuffers(device: WasmDevice): void {
  let before = 0;
  beforeEach(() => {
    debugFlags.poisonOutputs = true;
    before = device.liveBuffers();
  });
  afterEach(() => {
    debugFlags.poisonOutputs = false;
    expect(device.liveBuffers()).toBe(before);
  });
}
