import {
  REDUCE_OPS,
  type ReduceAttrs,
  type ReduceOpName,
  type SoftmaxAttrs,
  sizeOf,
  type Tensor,
} from '@qkv/tensor';
import type { WebGPUDevice } from '../runtime/webgpu-device.js';
import { paramBlock } from '../wgsl/params.js';
import {
  COMBINE_WGSL,
  ROW_LOCATION,
  ROW_WORKGROUP,
  workgroupReduceFn,
} from '../wgsl/row-reduce.js';
import { type ValueType, valueType } from '../wgsl/shader.js';
import { operand, registerGpuKernel } from './register.js';
import { runRowKernel } from './row-kernel.js';

/** A strided loop over this invocation's share of the row. */
const forRow = (statement: string) =>
  `  for (var j = lid; j < length; j += ROW_STRIDE) { let v = load_x0(start + j * stride); ${statement} }`;

/**
 * This invocation's share of a float row sum: blocks of 16 elements summed plainly, and the
 * block sums added with Kahan compensation. Blocks keep the error small even where a compiler
 * folds the compensation away (Mesa does: (a + b) - a -> b); Kahan tightens it elsewhere.
 */
const BLOCKED_SUM = `var acc = 0.0;
  var comp = 0.0;
  var j = lid;
  while (j < length) {
    var block = 0.0;
    for (var c = 0u; c < 16u && j < length; c++) { block += load_x0(start + j * stride); j += ROW_STRIDE; }
    let y = block - comp;
    let next = acc + y;
    comp = (next - acc) - y;
    acc = next;
  }`;

/** Extremes of each value type: the identities of max and min. */
function extremes(t: ValueType): { lowest: string; highest: string } {
  if (t === 'f32') return { lowest: 'neg_inf()', highest: 'pos_inf()' };
  if (t === 'i32') return { lowest: 'bitcast<i32>(0x80000000u)', highest: 'i32(0x7fffffff)' };
  return { lowest: '0u', highest: '0xffffffffu' };
}

/** Helpers and body of one reduction; `store_out(row, ...)` only from in_range workgroups. */
interface RowShader {
  readonly helpers: (subgroups: boolean) => string;
  readonly body: string;
}

function reductionShader(name: ReduceOpName, t: ValueType): RowShader {
  const { lowest, highest } = extremes(t);
  const combine = (f: string) => (t === 'f32' ? `${f}_f32` : f);
  const add = t === 'f32' ? 'add_f32' : `add_${t}`;
  const helpers = [
    COMBINE_WGSL,
    t === 'f32' ? '' : `fn add_${t}(a: ${t}, b: ${t}) -> ${t} { return a + b; }`,
  ];
  const reducers = (subgroups: boolean) =>
    [
      ...helpers,
      workgroupReduceFn('reduce_add', t, add, subgroups),
      workgroupReduceFn('reduce_max', t, combine('max'), subgroups),
      workgroupReduceFn('reduce_min', t, combine('min'), subgroups),
    ].join('\n');
  const store = (v: string) => `  if (in_range && lid == 0u) { store_out(row, ${v}); }`;
  switch (name) {
    case 'sum':
    case 'mean': {
      // Floats: blocked, compensated partial sums (BLOCKED_SUM), then a tree; a plain f32
      // running sum loses the low bits of long rows.
      const total =
        t === 'f32'
          ? `${BLOCKED_SUM}\n  let total = reduce_add(acc - comp, lid);`
          : `var acc = ${t}(0);\n${forRow('acc += v;')}\n  let total = reduce_add(acc, lid);`;
      // An empty mean is 0 / 0 = NaN, as in PyTorch.
      const value = name === 'sum' ? 'total' : 'select(total / f32(length), nan(), length == 0u)';
      return { helpers: reducers, body: `${ROW_LOCATION}\n  ${total}\n${store(value)}` };
    }
    case 'max':
    case 'min': {
      const init = name === 'max' ? lowest : highest;
      const f = combine(name);
      return {
        helpers: reducers,
        body: `${ROW_LOCATION}\n  var acc = ${init};\n${forRow(`acc = ${f}(acc, v);`)}\n  let total = reduce_${name}(acc, lid);\n${store('total')}`,
      };
    }
    case 'logsumexp':
      // log Σ exp(x) = m + log Σ exp(x - m); a non-finite maximum (or an empty row's -inf)
      // is the answer itself.
      return {
        helpers: reducers,
        body: `${ROW_LOCATION}
  var best = neg_inf();
${forRow('best = max_f32(best, v);')}
  let m = reduce_max(best, lid);
  var acc = 0.0;
  if (is_finite(m)) {
${forRow('acc += exp(v - m);')}
  }
  let total = reduce_add(acc, lid);
${store('select(m, m + log(total), is_finite(m))')}`,
      };
    case 'argmax':
      return { helpers: () => argmaxHelpers(t), body: argmaxBody(t) };
  }
}

/**
 * argmax: each invocation keeps the first maximum of its share, then pairs combine keeping
 * the lower index on ties. NaN counts as larger than everything (PyTorch's rule).
 */
function argmaxHelpers(t: ValueType): string {
  const nanTest = (v: string) => (t === 'f32' ? `is_nan(${v})` : 'false');
  return `
var<workgroup> arg_values: array<${t}, ${ROW_WORKGROUP}>;
var<workgroup> arg_indices: array<u32, ${ROW_WORKGROUP}>;
// Whether candidate (vb, ib) beats (va, ia); index 0xffffffff means no candidate yet.
fn arg_better(va: ${t}, ia: u32, vb: ${t}, ib: u32) -> bool {
  if (ib == 0xffffffffu) { return false; }
  if (ia == 0xffffffffu) { return true; }
  let na = ${nanTest('va')};
  let nb = ${nanTest('vb')};
  if (na != nb) { return nb; }
  if (!na && vb != va) { return vb > va; }
  return ib < ia;
}`;
}

function argmaxBody(t: ValueType): string {
  return `${ROW_LOCATION}
  var best = ${t}(0);
  var best_index = 0xffffffffu;
  for (var j = lid; j < length; j += ROW_STRIDE) {
    let v = load_x0(start + j * stride);
    if (arg_better(best, best_index, v, j)) { best = v; best_index = j; }
  }
  if (!SERIAL) {
    arg_values[lid] = best;
    arg_indices[lid] = best_index;
    workgroupBarrier();
    for (var s = ${ROW_WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
      if (lid < s && arg_better(arg_values[lid], arg_indices[lid], arg_values[lid + s], arg_indices[lid + s])) {
        arg_values[lid] = arg_values[lid + s];
        arg_indices[lid] = arg_indices[lid + s];
      }
      workgroupBarrier();
    }
    best_index = arg_indices[0];
  }
  if (in_range && lid == 0u) { store_out(row, i32(best_index)); }`;
}

/** `[rows, length, inner]` of a reduction over `axis`. */
function rowParams(x: Tensor, axis: number) {
  const length = x.shape[axis] ?? 1;
  const inner = sizeOf(x.shape.slice(axis + 1));
  return {
    rows: sizeOf(x.shape.slice(0, axis)) * inner,
    length,
    params: paramBlock({ length: 'u32', inner: 'u32' }, { length, inner }),
  };
}

/** The row's location, its maximum `m` and `total` = Σ exp(x − m) (softmax's denominator). */
export const SOFTMAX_STATS = `${ROW_LOCATION}
  var best = neg_inf();
${forRow('best = max_f32(best, v);')}
  let m = reduce_max(best, lid);
  var acc = 0.0;
${forRow('acc += exp(v - m);')}
  let total = reduce_add(acc, lid);`;

function softmaxBody(log: boolean): string {
  const write = log ? 'v - m - log(total)' : 'exp(v - m) / total';
  return `${SOFTMAX_STATS}
  if (!in_range) { return; }
  for (var j = lid; j < length; j += ROW_STRIDE) {
    let v = load_x0(start + j * stride);
    // A fully masked row (maximum -inf) gives zeros (log-softmax: -inf), never 0 / 0.
    var r = ${write};
    if (m == neg_inf()) { r = ${log ? 'neg_inf()' : '0.0'}; }
    if (is_nan(m)) { r = nan(); }
    store_out(start + j * stride, r);
  }`;
}

function runReduction(
  device: WebGPUDevice,
  name: string,
  x: Tensor,
  axis: number,
  outDType: Tensor['dtype'],
  outSize: number,
  shader: RowShader,
) {
  const { rows, length, params } = rowParams(x, axis);
  return runRowKernel(device, {
    rowLength: length,
    kernel: name,
    inputs: [operand(x)],
    outDType,
    outSize,
    rows,
    params,
    ...shader,
  });
}

export function registerReduceKernels(): void {
  for (const name of REDUCE_OPS) {
    registerGpuKernel<ReduceAttrs>(name, ({ inputs, attrs, outputs }, device) => {
      const x = inputs[0]!;
      const out = outputs[0]!;
      const shader = reductionShader(name, valueType(x.dtype));
      return [runReduction(device, name, x, attrs.axis, out.dtype, sizeOf(out.shape), shader)];
    });
  }
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    registerGpuKernel<SoftmaxAttrs>(name, ({ inputs, attrs }, device) => {
      const x = inputs[0]!;
      const shader = {
        helpers: (subgroups: boolean) =>
          [
            COMBINE_WGSL,
            workgroupReduceFn('reduce_add', 'f32', 'add_f32', subgroups),
            workgroupReduceFn('reduce_max', 'f32', 'max_f32', subgroups),
          ].join('\n'),
        body: softmaxBody(log),
      };
      return [runReduction(device, name, x, attrs.axis, x.dtype, x.size, shader)];
    });
  }
}
