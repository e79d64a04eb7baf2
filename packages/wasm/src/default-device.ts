import { setDefaultDevice } from '@qkv/tensor';
import { createWasmDevice, type WasmDevice, type WasmDeviceOptions } from './wasm-device.js';

/**
 * Threads a default device asks for: the logical cores (`navigator.hardwareConcurrency` in
 * browsers and Node >= 21, `os.availableParallelism()` in older Node), at most 8, where past
 * that the copies around each kernel call and the workers' start-up outweigh what more cores
 * add. A page's main thread gets one thread whatever it asks for (it may not block);
 * `device.threads` says what it got.
 */
export async function defaultThreads(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (
    cores === undefined &&
    (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node
  ) {
    // A variable specifier keeps bundlers for the browser from resolving the Node module.
    const specifier = 'node:os';
    const os = (await import(/* @vite-ignore */ specifier)) as { availableParallelism(): number };
    cores = os.availableParallelism();
  }
  return Math.max(1, Math.min(8, Number.isInteger(cores) ? (cores as number) : 1));
}

let shared: Promise<WasmDevice> | undefined;

/**
 * One fast CPU device per program, made on first use with `defaultThreads()` threads: what
 * packages that pick a device for the user (such as `@qkv/models`' `loadModel`) run on when
 * given none. Its workers do not keep a Node process alive.
 */
export function sharedWasmDevice(): Promise<WasmDevice> {
  shared ??= defaultThreads()
    .then((threads) => createWasmDevice({ threads }))
    .catch((error: unknown) => {
      shared = undefined; // let a later call try again
      throw error;
    });
  return shared;
}

/**
 * Make the fast CPU device `@qkv/tensor`'s default device, so tensors made without a
 * `device` live on it and their ops run its kernels. With no options, the shared device of
 * `sharedWasmDevice()`; with options, a new device. Returns the device.
 */
export async function useWasmAsDefault(options?: WasmDeviceOptions): Promise<WasmDevice> {
  const device = options ? await createWasmDevice(options) : await sharedWasmDevice();
  setDefaultDevice(device);
  return device;
}
