// A Web Worker that times masked attention on @qkv/wasm's fast CPU device with threads: a
// worker may block on Atomics.wait while the device's own workers run, which the page's main
// thread may not. Messages: { id, n, allowed, headDim, repeats } in, { id, timing | error } out;
// the first message out is { threads } once the device exists.
import { createWasmDevice, defaultThreads } from '@qkv/wasm';
import { timeMaskedAttention } from '../model/cost.js';
import type { PatternMask } from '../model/masks.js';

export interface TimingRequest {
  id: number;
  n: number;
  allowed: Uint8Array;
  headDim: number;
  repeats: number;
}

const scope = self as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<TimingRequest>) => void) | null;
};

const device = defaultThreads().then((threads) => createWasmDevice({ threads }));
device.then(
  (d) => scope.postMessage({ threads: d.threads }),
  (error: Error) => scope.postMessage({ error: error.message }),
);

scope.onmessage = async ({ data }) => {
  try {
    // The timing reads only the size and the dense pattern of the mask.
    const mask = { n: data.n, allowed: data.allowed } as PatternMask;
    const timing = await timeMaskedAttention(await device, mask, data.headDim, data.repeats);
    scope.postMessage({ id: data.id, timing });
  } catch (error) {
    scope.postMessage({ id: data.id, error: (error as Error).message });
  }
};
