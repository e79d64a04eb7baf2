import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { NO_PARAMS, type ParamFields } from '../wgsl/params.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import { entryPoint } from '../wgsl/shader.js';
import { type AttentionPlan, dispatchAttention, rowScoringPrelude } from './attention-shader.js';

/**
 * The materialised probabilities: one workgroup per query row writes its raw scores into the
 * output row, reduces the max, turns the row into exp(s - max) in place, reduces the sum and
 * divides. A row whose every score is -inf is zeros. Each invocation touches only its own
 * elements between the reductions, so no extra barrier is needed.
 */
function weightsSource(plan: AttentionPlan, params: ParamFields): string {
  const e = plan.dims.headDim;
  const body = `  let total = params.count;
  if (group >= total) { return; }
  let rc = row_coords(group);
  let b = rc.x; let h = rc.y; let i = rc.z;
  load_query(rc.w, i, lid);
  let r = score_row(b, h, i);
  let k_base = kv_base(b, h, ${e}u);
  let width = kv_length();
  let end = key_end(i);
  let o = group * width;
  var row_max = neg_inf();
  for (var j = lid; j < width; j += ${ROW_WORKGROUP}u) {
    var s = neg_inf();
    if (j < end) { s = key_score(r, k_base, j); }
    out[o + j] = s;
    row_max = max_f32(row_max, s);
  }
  let top = reduce_max(row_max, lid);
  var sum = 0.0;
  for (var j = lid; j < width; j += ${ROW_WORKGROUP}u) {
    let s = out[o + j];
    let p = select(exp(s - top), 0.0, s == neg_inf());
    out[o + j] = p;
    sum += p;
  }
  let total_sum = reduce_add(sum, lid);
  let inv = select(1.0 / total_sum, 0.0, top == neg_inf());
  for (var j = lid; j < width; j += ${ROW_WORKGROUP}u) { out[o + j] = out[o + j] * inv; }`;
  return [rowScoringPrelude(plan, 'out', params), entryPoint(ROW_WORKGROUP, body)].join('\n');
}

/** Run the weights kernel; the result is float32 `[B, Hq, L, kvLength]`. */
export function runAttentionWeights(device: WebGPUDevice, plan: AttentionPlan): GpuStorage {
  const { dims } = plan;
  const rows = dims.batch * dims.qHeads * dims.queryLength;
  const out = device.allocate('float32', rows * dims.kvLength, 'attentionWeights');
  if (rows > 0 && dims.kvLength > 0) {
    dispatchAttention(device, plan, {
      kernel: 'attention-weights',
      spec: { e: dims.headDim },
      source: (fields) => weightsSource(plan, fields),
      output: out,
      groups: rows,
      params: NO_PARAMS,
    });
  }
  return out;
}
