// @qkv/tensor: tensors, devices, the op registry, op front-ends and the CPU reference backend.

export {
  type CheckInput,
  finiteDifferenceCheck,
  type GradCheckResult,
} from './autodiff/grad-check.js';
export {
  type GradientContext,
  type GradientFunc,
  type GradientOptions,
  registerGradient,
  registerNonDifferentiable,
} from './autodiff/gradient-registry.js';
export { runOpSavingForGradient } from './autodiff/save-for-gradient.js';
export { grads, missingGradients, type ValueAndGrads, valueAndGrads } from './autodiff/tape.js';
export {
  assertAllocatable,
  assertDevice,
  assertTensor,
  describeValue,
  MAX_ELEMENTS,
} from './check-args.js';
export { cpu, cpuData, registerCpuKernel } from './cpu/cpu-device.js';
export { HostStorageDevice } from './cpu/host-storage-device.js';
export { dot, SoftmaxRow } from './cpu/online-softmax.js';
export {
  arange,
  type CreationOptions,
  fromTypedArray,
  full,
  ones,
  type RandomOptions,
  rand,
  randn,
  tensor,
  toDevice,
  toTypedArray,
  zeros,
} from './creation.js';
export { debugFlags, poisonValue } from './debug.js';
export { type Device, getDefaultDevice, setDefaultDevice } from './device.js';
export {
  allocateTypedArray,
  bytesPerElement,
  type DataTypeMap,
  DTYPES,
  type DType,
  float16BitsFromNumber,
  isFloatDType,
  numberFromBFloat16Bits,
  numberFromFloat16Bits,
  roundToFloat16,
  type TensorLike,
  type TypedArray,
} from './dtype.js';
export { QkvError } from './errors.js';
export { isTensor, keep, liveTensors, scope } from './lifetime.js';
export * from './ops/attention.js';
export * from './ops/attention-backward.js';
export * from './ops/block-sparse-attention.js';
export * from './ops/block-sparse-attention-backward.js';
export * from './ops/cross-entropy.js';
export * from './ops/elementwise.js';
export * from './ops/layout.js';
export * from './ops/matmul.js';
export * from './ops/norm.js';
export * from './ops/reduce.js';
export * from './ops/rope.js';
export { manualSeed, Random } from './random.js';
export {
  commonDevice,
  defineOp,
  getKernel,
  hasKernel,
  type Inferred,
  type KernelConfig,
  type KernelContext,
  type KernelFunc,
  listOps,
  missingKernels,
  type OpDef,
  registerKernel,
  runOp,
  setKernelFallback,
  type TensorSpec,
  unregisterKernel,
} from './registry.js';
export {
  decodeSafetensorsTensor,
  loadSafetensors,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsFile,
  safetensorsHeaderLength,
  saveSafetensors,
} from './safetensors.js';
export {
  broadcastShapes,
  broadcastStrides,
  formatShape,
  normalizeAxis,
  type Shape,
  shapesEqual,
  sizeOf,
  stridesOf,
} from './shape.js';
export { Tensor } from './tensor.js';
export { wgslTanh } from './wgsl-math.js';
