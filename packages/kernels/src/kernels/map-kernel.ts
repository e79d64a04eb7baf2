import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { NO_PARAMS, type ParamBlock, type ParamFields, type SpecValue } from '../wgsl/params.js';
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
  /** The kernel's name (pipeline key, errors). */
  readonly kernel: string;
  /** Every specialisation of the WGSL besides the dtypes and parameters, added here. */
  readonly spec?: Readonly<Record<string, SpecValue>>;
  readonly inputs: readonly { readonly storage: GpuStorage; readonly dtype: DType }[];
  readonly outDType: DType;
  /** The op's own parameters, read in WGSL as `params.<name>`. */
  readonly params?: ParamBlock;
  /** Extra WGSL functions the body calls. */
  readonly helpers?: string;
  /** Statements ending in `return <value>;`, with `i` the output element index. */
  readonly body: string;
}

export function mapShader(
  inputs: readonly Binding[],
  out: Binding,
  params: ParamFields,
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
    declareBindings(inputs, [out], params),
    COMMON_WGSL,
    out.dtype === 'float16' ? F16_BITS_WGSL : '',
    loadFns(inputs),
    helpers,
    `fn value(i: u32) -> ${v} {\n${body}\n}`,
    entryPoint(
      WORKGROUP,
      `  let n = params.count;\n  let t = group * ${WORKGROUP}u + lid;\n${write}`,
    ),
  ].join('\n');
}

/** Run a map kernel over `size` output elements; returns the new output storage. */
export function runMap(device: WebGPUDevice, kernel: MapKernel, size: number): GpuStorage {
  const out = device.allocate(kernel.outDType, size, kernel.kernel);
  const inputs = kernel.inputs.map((x, j) => ({ name: `x${j}`, dtype: x.dtype }));
  const output = { name: 'out', dtype: kernel.outDType };
  const words = kernel.outDType === 'float16' ? Math.ceil(size / 2) : size;
  const params = kernel.params ?? NO_PARAMS;
  device.dispatch({
    kernel: kernel.kernel,
    spec: { ...kernel.spec, in: inputs.map((b) => b.dtype), out: kernel.outDType },
    source: () => mapShader(inputs, output, params.fields, kernel.helpers ?? '', kernel.body),
    inputs: kernel.inputs.map((x) => x.storage),
    outputs: [out],
    params,
    count: size,
    workgroups: Math.ceil(words / WORKGROUP),
  });
  return out;
}

/** Convert float32 storage to packed float16 storage, consuming the float32 storage. */
export function packFloat16(device: WebGPUDevice, f32: GpuStorage, size: number): GpuStorage {
  const packed = runMap(
    device,
    {
      kernel: 'pack-f16',
      inputs: [{ storage: f32, dtype: 'float32' }],
      outDType: 'float16',
      body: '  return load_x0(i);',
    },
    size,
  );
  device.release(f32);
  return packed;
}
