import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import {
  type Binding,
  COMMON_WGSL,
  declareBindings,
  entryPoint,
  loadFns,
  storeFn,
} from '../wgsl/shader.js';
import { packFloat16 } from './map-kernel.js';

/**
 * A kernel with one workgroup per row (reductions, softmax, norms). `body` runs with `row`
 * (clamped to a real row so every invocation reaches the barriers) and `active` (false for
 * padding workgroups, which must not store). Outputs are 32-bit; a float16 result is
 * computed into float32 storage and packed by a cast pass.
 */
export interface RowKernel {
  readonly key: string;
  readonly inputs: readonly { readonly storage: GpuStorage; readonly dtype: DType }[];
  readonly outDType: DType;
  readonly outSize: number;
  readonly rows: number;
  /** Parameter words after the row count; word 1 onward in WGSL (`params[1u]`, ...). */
  readonly params: readonly number[];
  readonly helpers: string;
  readonly body: string;
}

export function runRowKernel(device: WebGPUDevice, k: RowKernel): GpuStorage {
  const computeDType: DType = k.outDType === 'float16' ? 'float32' : k.outDType;
  const out = device.allocate(computeDType, k.outSize, k.key);
  const inputs: Binding[] = k.inputs.map((x, j) => ({ name: `x${j}`, dtype: x.dtype }));
  const output = { name: 'out', dtype: computeDType };
  device.dispatch({
    key: `${k.key}:${inputs.map((b) => b.dtype).join(',')}->${computeDType}`,
    source: () =>
      [
        declareBindings(inputs, [output]),
        COMMON_WGSL,
        loadFns(inputs),
        storeFn(output),
        k.helpers,
        entryPoint(
          ROW_WORKGROUP,
          `  let rows = params[0];\n  let active = group < rows;\n  let row = min(group, rows - 1u);\n${k.body}`,
        ),
      ].join('\n'),
    inputs: k.inputs.map((x) => x.storage),
    outputs: [out],
    params: [k.rows, ...k.params],
    workgroups: k.rows,
  });
  return computeDType === k.outDType ? out : packFloat16(device, out, k.outSize);
}
