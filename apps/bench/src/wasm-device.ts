import { createWasmDevice } from '@qkv/wasm';
import type { BenchDevice } from './devices.js';

/** `--device wasm`: `@qkv/wasm`'s fast CPU device, one thread. Computes eagerly, like the CPU. */
export async function openWasmDevice(threads = 1): Promise<BenchDevice> {
  const device = await createWasmDevice({ threads });
  return {
    kind: 'wasm',
    device,
    info: { kind: 'wasm', name: device.name, backend: device.backend },
    settle: async () => {},
  };
}
