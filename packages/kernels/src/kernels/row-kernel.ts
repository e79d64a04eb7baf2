import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { NO_PARAMS, type ParamBlock, type SpecValue } from '../wgsl/params.js';
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
  /** The kernel's name (pipeline key, errors). */
  readonly kernel: string;
  /** Every specialisation of the WGSL besides layout, dtypes and parameters (added here). */
  readonly spec?: Readonly<Record<string, SpecValue>>;
  readonly inputs: readonly { readonly storage: GpuStorage; readonly dtype: DType }[];
  readonly outDType: DType;
  readonly outSize: number;
  readonly rows: number;
  /** Parameters besides the row count (`params.count`), read as `params.<name>`. */
  readonly params?: ParamBlock;
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
  const out = device.allocate(computeDType, k.outSize, k.kernel);
  const inputs: Binding[] = k.inputs.map((x, j) => ({ name: `x${j}`, dtype: x.dtype }));
  const output = { name: 'out', dtype: computeDType };
  const serial = k.rowLength <= SERIAL_ROW_LENGTH;
  const subgroups = device.subgroupReductions && !serial;
  // Serial: invocation `lid` of workgroup `group` owns a row, and sees itself as invocation 0.
  const params = k.params ?? NO_PARAMS;
  const entry = serial
    ? `  let rows = params.count;
  let row_id = group * ${ROW_WORKGROUP}u + lid;
  let in_range = row_id < rows;
  let row = min(row_id, rows - 1u);
  {
  let lid = 0u;
${k.body}
  }`
    : `${subgroups ? `${SUBGROUP_INIT}\n` : ''}  let rows = params.count;\n  let in_range = group < rows;\n  let row = min(group, rows - 1u);\n${k.body}`;
  device.dispatch({
    kernel: k.kernel,
    spec: {
      ...k.spec,
      layout: serial ? 'serial' : subgroups ? 'subgroups' : 'workgroup',
      in: inputs.map((b) => b.dtype),
      out: computeDType,
    },
    source: () =>
      [
        subgroups ? 'enable subgroups;' : '',
        declareBindings(inputs, [output], params.fields),
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
    params,
    count: k.rows,
    workgroups: serial ? Math.ceil(k.rows / ROW_WORKGROUP) : k.rows,
  });
  return computeDType === k.outDType ? out : packFloat16(device, out, k.outSize);
}
