import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import {
  type Binding,
  COMMON_WGSL,
  declareBindings,
  entryPoint,
  loadFns,
  valueType,
} from '../wgsl/shader.js';

const WORKGROUP = 64;

/**
 * float32 -> float16 bits. pack2x16float is undefined outside f16's finite range, so NaN and
 * values that round past the largest half (65504; 65520 rounds up) are encoded by hand.
 */
const F16_BITS_WGSL = /* wgsl */ `
fn f16_bits(v: f32) -> u32 {
  if (is_nan(v)) { return 0x7e00u; }
  if (abs(v) >= 65520.0) { return select(0x7c00u, 0xfc00u, v < 0.0); }
  return pack2x16float(vec2f(v, 0.0)) & 0xffffu;
}`;

/**
 * A kernel that computes each output element from its linear index: elementwise ops, cast,
 * permute, slice, concat, gather. The kernel supplies the body of
 * `fn value(i: u32) -> <output value type>`; this file owns the bindings, the launch and the
 * float16 output packing (one invocation writes one output word, i.e. two float16 elements).
 */
export interface MapKernel {
  /** Names every specialisation of the WGSL besides the dtypes, which are added here. */
  readonly key: string;
  readonly inputs: readonly { readonly storage: GpuStorage; readonly dtype: DType }[];
  readonly outDType: DType;
  /** The op's own parameter words, read in WGSL with `param(k)`. */
  readonly params?: readonly number[];
  /** Extra WGSL functions the body calls. */
  readonly helpers?: string;
  /** Statements ending in `return <value>;`, with `i` the output element index. */
  readonly body: string;
}

export function mapShader(
  inputs: readonly Binding[],
  out: Binding,
  helpers: string,
  body: string,
): string {
  const v = valueType(out.dtype);
  const write =
    out.dtype === 'float16'
      ? `  let first = t * 2u;
  if (first >= n) { return; }
  var second = 0.0;
  if (first + 1u < n) { second = value(first + 1u); }
  ${out.name}[t] = f16_bits(value(first)) | (f16_bits(second) << 16u);`
      : `  if (t >= n) { return; }
  ${out.name}[t] = value(t);`;
  return [
    declareBindings(inputs, [out]),
    COMMON_WGSL,
    out.dtype === 'float16' ? F16_BITS_WGSL : '',
    loadFns(inputs),
    helpers,
    `fn value(i: u32) -> ${v} {\n${body}\n}`,
    entryPoint(WORKGROUP, `  let n = params[0];\n  let t = group * ${WORKGROUP}u + lid;\n${write}`),
  ].join('\n');
}

/** Run a map kernel over `size` output elements; returns the new output storage. */
export function runMap(device: WebGPUDevice, kernel: MapKernel, size: number): GpuStorage {
  const out = device.allocate(kernel.outDType, size, kernel.key);
  const inputs = kernel.inputs.map((x, j) => ({ name: `x${j}`, dtype: x.dtype }));
  const output = { name: 'out', dtype: kernel.outDType };
  const words = kernel.outDType === 'float16' ? Math.ceil(size / 2) : size;
  const key = `${kernel.key}:${inputs.map((b) => b.dtype).join(',')}->${kernel.outDType}`;
  device.dispatch({
    key,
    source: () => mapShader(inputs, output, kernel.helpers ?? '', kernel.body),
    inputs: kernel.inputs.map((x) => x.storage),
    outputs: [out],
    params: [size, ...(kernel.params ?? [])],
    workgroups: Math.ceil(words / WORKGROUP),
  });
  return out;
}

/** Convert float32 storage to packed float16 storage, consuming the float32 storage. */
export function packFloat16(device: WebGPUDevice, f32: GpuStorage, size: number): GpuStorage {
  const packed = runMap(
    device,
    {
      key: 'pack-f16',
      inputs: [{ storage: f32, dtype: 'float32' }],
      outDType: 'float16',
      body: '  return load_x0(i);',
    },
    size,
  );
  device.release(f32);
  return packed;
}
