import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import {
  ROW_WORKGROUP,
  rowLayoutConstants,
  SUBGROUP_INIT,
  SUBGROUP_PARAMS,
  SUBGROUP_STATE,
} from '../wgsl/row-reduce.js';
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
 * A kernel over rows (reductions, softmax, norms): a workgroup per row, or an invocation per
 * row when rows are short (see `rowLayoutConstants`). `body` runs with `row`
 * (clamped to a real row so every invocation reaches the barriers) and `in_range` (false for
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
  /** Extra WGSL; `subgroups` says whether `workgroupReduceFn` may use subgroup operations. */
  readonly helpers: (subgroups: boolean) => string;
  readonly body: string;
  /** Row length: short rows get an invocation each instead of a workgroup. */
  readonly rowLength: number;
}

/** Rows at most this long are reduced by one invocation each. */
const SERIAL_ROW_LENGTH = 128;

export function runRowKernel(device: WebGPUDevice, k: RowKernel): GpuStorage {
  const computeDType: DType = k.outDType === 'float16' ? 'float32' : k.outDType;
  const out = device.allocate(computeDType, k.outSize, k.key);
  const inputs: Binding[] = k.inputs.map((x, j) => ({ name: `x${j}`, dtype: x.dtype }));
  const output = { name: 'out', dtype: computeDType };
  const serial = k.rowLength <= SERIAL_ROW_LENGTH;
  const subgroups = device.subgroupReductions && !serial;
  // Serial: invocation `lid` of workgroup `group` owns a row, and sees itself as invocation 0.
  const entry = serial
    ? `  let rows = params[0];
  let row_id = group * ${ROW_WORKGROUP}u + lid;
  let in_range = row_id < rows;
  let row = min(row_id, rows - 1u);
  {
  let lid = 0u;
${k.body}
  }`
    : `${subgroups ? `${SUBGROUP_INIT}\n` : ''}  let rows = params[0];\n  let in_range = group < rows;\n  let row = min(group, rows - 1u);\n${k.body}`;
  device.dispatch({
    key: `${k.key}:${serial ? 'serial' : subgroups ? 'subgroups' : 'workgroup'}:${inputs.map((b) => b.dtype).join(',')}->${computeDType}`,
    source: () =>
      [
        subgroups ? 'enable subgroups;' : '',
        declareBindings(inputs, [output]),
        COMMON_WGSL,
        loadFns(inputs),
        storeFn(output),
        rowLayoutConstants(serial),
        subgroups ? SUBGROUP_STATE : '',
        k.helpers(subgroups),
        entryPoint(ROW_WORKGROUP, entry, subgroups ? SUBGROUP_PARAMS : ''),
      ].join('\n'),
    inputs: k.inputs.map((x) => x.storage),
    outputs: [out],
    params: [k.rows, ...k.params],
    workgroups: serial ? Math.ceil(k.rows / ROW_WORKGROUP) : k.rows,
  });
  return computeDType === k.outDType ? out : packFloat16(device, out, k.outSize);
}
