import { type CrossEntropyAttrs, sizeOf } from '@qkv/tensor';
import { paramBlock } from '../wgsl/params.js';
import { COMBINE_WGSL, workgroupReduceFn } from '../wgsl/row-reduce.js';
import { SOFTMAX_STATS } from './reduce.js';
import { operand, registerGpuKernel } from './register.js';
import { runRowKernel } from './row-kernel.js';

// Cross-entropy fused with the log-softmax, a row of logits per workgroup (or invocation, for
// short rows): the row's maximum and Σ exp(x − max) give logsumexp without writing the
// log-softmax out. A target that is neither ignoreIndex nor in [0, V) gives NaN.

/** The row maximum `m`, the sum `total` and the row's target, with its checks. */
const ROW_STATS = `${SOFTMAX_STATS}
  if (!in_range) { return; }
  let class_id = load_x1(row);
  let ignored = class_id == params.ignoreIndex;
  let bad = !ignored && (class_id < 0i || u32(class_id) >= length);`;

// loss = m + log(total) − x[t]; 0 for an ignored row.
const LOSS_BODY = `${ROW_STATS}
  if (lid != 0u) { return; }
  var loss = 0.0;
  if (bad) { loss = nan(); } else if (!ignored) {
    loss = m + log(total) - f32(load_x0(start + u32(class_id) * stride));
  }
  store_out(row, loss);`;

// dx = dy · (softmax(x) − onehot(t)); 0 for an ignored row.
const GRAD_BODY = `${ROW_STATS}
  let g = f32(load_x2(row));
  for (var j = lid; j < length; j += ROW_STRIDE) {
    let v = load_x0(start + j * stride);
    var r = (exp(v - m) / total - select(0.0, 1.0, i32(j) == class_id)) * g;
    if (ignored) { r = 0.0; }
    if (bad) { r = nan(); }
    store_out(start + j * stride, r);
  }`;

const helpers = (subgroups: boolean) =>
  [
    COMBINE_WGSL,
    workgroupReduceFn('reduce_add', 'f32', 'add_f32', subgroups),
    workgroupReduceFn('reduce_max', 'f32', 'max_f32', subgroups),
  ].join('\n');

export function registerCrossEntropyKernels(): void {
  for (const backward of [false, true]) {
    const name = backward ? 'crossEntropyBackward' : 'crossEntropy';
    registerGpuKernel<CrossEntropyAttrs>(name, ({ inputs, attrs }, device) => {
      const logits = inputs[0]!;
      const length = logits.shape[logits.rank - 1]!;
      const rows = sizeOf(logits.shape.slice(0, -1));
      return [
        runRowKernel(device, {
          kernel: name,
          rowLength: length,
          inputs: inputs.map(operand),
          outDType: logits.dtype,
          outSize: backward ? logits.size : rows,
          rows,
          params: paramBlock(
            { length: 'u32', inner: 'u32', ignoreIndex: 'i32' },
            { length, inner: 1, ignoreIndex: attrs.ignoreIndex },
          ),
          helpers,
          body: backward ? GRAD_BODY : LOSS_BODY,
        }),
      ];
    });
  }
}
