// @qkv/wasm: a fast CPU device for qkv (WebAssembly SIMD kernels, reference kernels elsewhere).
export { defaultThreads, sharedWasmDevice, useWasmAsDefault } from './default-device.js';
export {
  createWasmDevice,
  NATIVE_OPS,
  WASM_BACKEND,
  WasmDevice,
  type WasmDeviceOptions,
} from './wasm-device.js';
export { wasmSimdSupported } from './wasm-module.js';
