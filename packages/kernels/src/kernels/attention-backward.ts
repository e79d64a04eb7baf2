import type { AttentionAttrs, AttentionDims, KernelContext, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { NO_PARAMS, type ParamFields } from '../wgsl/params.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import { type Binding, entryPoint } from '../wgsl/shader.js';
import {
  type AttentionPlan,
  attentionWgsl,
  dispatchAttention,
  keyEndWgsl,
  planAttention,
  ROW_COORDS_WGSL,
  rowScoringPrelude,
} from './attention-shader.js';
import { packFloat16 } from './map-kernel.js';
import { gpuStorage, registerGpuKernel } from './register.js';

// The attention gradient's kernels (FlashAttention-2, Dao 2023, Algorithm 2, with the dQ
// and the dK/dV sums in separate passes so no two invocations write the same element and no
// float atomics are needed). Probabilities are recomputed from the saved log-sum-exp key by
// key; nothing of size L x S is ever allocated.

/**
 * `attentionLse`: one workgroup per query row reduces the row's scores to max + log Σ exp
 * (-inf for a fully masked row), the weights kernel's first two passes without the writes.
 */
function lseSource(plan: AttentionPlan, params: ParamFields): string {
  const body = `  let total = params.count;
  if (group >= total) { return; }
  let rc = row_coords(group);
  let b = rc.x; let h = rc.y; let i = rc.z;
  load_query(rc.w, i, lid);
  let r = score_row(b, h, i);
  let k_base = kv_base(b, h, ${plan.dims.headDim}u);
  let end = key_end(i);
  var row_max = neg_inf();
  for (var j = lid; j < end; j += ${ROW_WORKGROUP}u) { row_max = max_f32(row_max, key_score(r, k_base, j)); }
  let top = reduce_max(row_max, lid);
  var sum = 0.0;
  if (top != neg_inf()) {
    for (var j = lid; j < end; j += ${ROW_WORKGROUP}u) {
      let s = key_score(r, k_base, j);
      sum += select(exp(s - top), 0.0, s == neg_inf());
    }
  }
  let total_sum = reduce_add(sum, lid);
  if (lid == 0u) { out[group] = select(top + log(total_sum), neg_inf(), top == neg_inf()); }`;
  return [rowScoringPrelude(plan, 'out', params), entryPoint(ROW_WORKGROUP, body)].join('\n');
}

/** Per (query row, key) terms both gradient kernels share, as WGSL. */
function pairWgsl(plan: AttentionPlan): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const softcap = plan.attrs.softcap > 0;
  return `// p = exp(s - lse) and dS = p · (dOut_i · v_j - delta_i) · softcap' · scale for
// query row (b, h, i) = flat row \`row\` and key j; p = 0 when the key is masked, and a
// masked key's k and v are never read into p or dS (NaN there must not leak).
struct Pair { p: f32, ds: f32 }
fn pair(r: ScoreRow, row: u32, k_row: u32, v_row: u32, j: u32) -> Pair {
  let lse = load_lse(row);
  if (lse == neg_inf() || !allowed(r, j)) { return Pair(0.0, 0.0); }
  var dot = 0.0;
  for (var c = 0u; c < ${e}u; c++) { dot += f32(load_q(row * ${e}u + c)) * f32(load_k(k_row + c)); }
  let s = finish_score(dot, r, j);
  if (s == neg_inf()) { return Pair(0.0, 0.0); }
  let p = exp(s - lse);
  var dp = 0.0;
  for (var c = 0u; c < ${ev}u; c++) { dp += f32(load_dout(row * ${ev}u + c)) * f32(load_v(v_row + c)); }
  var ds = p * (dp - load_delta(row)) * params.scale;
${softcap ? '  let t = qkv_tanh(dot * params.scale / params.softcap);\n  ds = ds * (1.0 - t * t);\n' : ''}  return Pair(p, ds);
}`;
}

/** dQ: one invocation per query row walks the keys it may see. */
function dqSource(plan: AttentionPlan, outputs: readonly Binding[], params: ParamFields): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const body = `  let row = group * ${ROW_WORKGROUP}u + lid;
  if (row >= params.count) { return; }
  let rc = row_coords(row);
  let b = rc.x; let h = rc.y; let i = rc.z;
  let r = score_row(b, h, i);
  let k_base = kv_base(b, h, ${e}u);
  let v_base = kv_base(b, h, ${ev}u);
  var acc: array<f32, ${e}>;
  for (var c = 0u; c < ${e}u; c++) { acc[c] = 0.0; }
  let end = key_end(i);
  for (var j = 0u; j < end; j++) {
    let pr = pair(r, row, k_base + j * ${e}u, v_base + j * ${ev}u, j);
    if (pr.ds == 0.0) { continue; }
    for (var c = 0u; c < ${e}u; c++) { acc[c] += pr.ds * f32(load_k(k_base + j * ${e}u + c)); }
  }
  for (var c = 0u; c < ${e}u; c++) { dq[row * ${e}u + c] = acc[c]; }`;
  return [gradPrelude(plan, outputs, params), entryPoint(ROW_WORKGROUP, body)].join('\n');
}

/**
 * dK and dV: one invocation per key row of each key/value head sums over every query row of
 * every query head in its group (GQA), so the group's sum needs no second pass.
 */
function dkvSource(plan: AttentionPlan, outputs: readonly Binding[], params: ParamFields): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const body = `  let key_row = group * ${ROW_WORKGROUP}u + lid;
  if (key_row >= params.count) { return; }
  let j = key_row % key_capacity();
  let bg = key_row / key_capacity();
  let b = bg / kv_heads();
  let g = bg % kv_heads();
  var dk_acc: array<f32, ${Math.max(e, 1)}>;
  var dv_acc: array<f32, ${Math.max(ev, 1)}>;
  for (var c = 0u; c < ${e}u; c++) { dk_acc[c] = 0.0; }
  for (var c = 0u; c < ${ev}u; c++) { dv_acc[c] = 0.0; }
  if (j < kv_length()) {
    for (var t = 0u; t < group_size(); t++) {
      let h = g * group_size() + t;
      for (var i = 0u; i < query_length(); i++) {
        let r = score_row(b, h, i);
        let row = (b * q_heads() + h) * query_length() + i;
        let pr = pair(r, row, key_row * ${e}u, key_row * ${ev}u, j);
        if (pr.p == 0.0) { continue; }
        for (var c = 0u; c < ${ev}u; c++) { dv_acc[c] += pr.p * f32(load_dout(row * ${ev}u + c)); }
        for (var c = 0u; c < ${e}u; c++) { dk_acc[c] += pr.ds * f32(load_q(row * ${e}u + c)); }
      }
    }
  }
  for (var c = 0u; c < ${e}u; c++) { dk[key_row * ${e}u + c] = dk_acc[c]; }
  for (var c = 0u; c < ${ev}u; c++) { dv[key_row * ${ev}u + c] = dv_acc[c]; }`;
  return [gradPrelude(plan, outputs, params), entryPoint(ROW_WORKGROUP, body)].join('\n');
}

function gradPrelude(
  plan: AttentionPlan,
  outputs: readonly Binding[],
  params: ParamFields,
): string {
  return [
    attentionWgsl(plan, outputs, params),
    ROW_COORDS_WGSL,
    keyEndWgsl(plan.attrs.isCausal),
    pairWgsl(plan),
  ].join('\n');
}

/** The plan of the forward call, with dOut, lse and delta bound after its inputs. */
function planBackward(ctx: KernelContext<AttentionAttrs, AttentionDims>): AttentionPlan {
  const [q, k, v, dOut, lse, delta, ...extras] = ctx.inputs as Tensor[];
  const plan = planAttention({ ...ctx, inputs: [q!, k!, v!, ...extras] }, true);
  const more = [
    { name: 'dout', dtype: dOut!.dtype, storage: gpuStorage(dOut!) },
    { name: 'lse', dtype: lse!.dtype, storage: gpuStorage(lse!) },
    { name: 'delta', dtype: delta!.dtype, storage: gpuStorage(delta!) },
  ];
  const inputs = [...plan.inputs, ...more];
  return {
    ...plan,
    inputs,
    spec: { ...plan.spec, inputs: inputs.map((b) => `${b.name}=${b.dtype}`) },
  };
}

/** Launch one invocation per element of `count` with several float32 outputs. */
function dispatchRows(
  device: WebGPUDevice,
  plan: AttentionPlan,
  kernel: string,
  source: (params: ParamFields) => string,
  outputs: readonly GpuStorage[],
  count: number,
): void {
  if (count === 0) return;
  const { headDim: e, valueDim: ev } = plan.dims;
  device.dispatch({
    kernel,
    spec: { e, ev, ...plan.spec },
    source: () => source(plan.params.fields),
    inputs: plan.inputs.map((b) => b.storage),
    outputs,
    params: plan.params,
    count,
    workgroups: Math.ceil(count / ROW_WORKGROUP),
  });
}

export function registerAttentionBackwardKernels(): void {
  registerGpuKernel<AttentionAttrs, AttentionDims>('attentionLse', (ctx, device) => {
    const plan = planAttention(ctx, false);
    const { dims } = plan;
    const rows = dims.batch * dims.qHeads * dims.queryLength;
    const out = device.allocate('float32', rows, 'attentionLse');
    if (rows > 0) {
      dispatchAttention(device, plan, {
        kernel: 'attention-lse',
        spec: { e: dims.headDim },
        source: (fields) => lseSource(plan, fields),
        output: out,
        groups: rows,
        params: NO_PARAMS,
      });
    }
    return [out];
  });

  registerGpuKernel<AttentionAttrs, AttentionDims>('attentionBackward', (ctx, device) => {
    const plan = planBackward(ctx);
    const { dims } = plan;
    const rows = dims.batch * dims.qHeads * dims.queryLength;
    const keyRows = dims.batch * dims.kvHeads * dims.keyCapacity;
    const sizes = [rows * dims.headDim, keyRows * dims.headDim, keyRows * dims.valueDim];
    const [dq, dk, dv] = sizes.map((n) => device.allocate('float32', n, 'attentionBackward'));
    dispatchRows(
      device,
      plan,
      'attention-dq',
      (fields) => dqSource(plan, [{ name: 'dq', dtype: 'float32' }], fields),
      [dq!],
      rows,
    );
    const kvOutputs: Binding[] = [
      { name: 'dk', dtype: 'float32' },
      { name: 'dv', dtype: 'float32' },
    ];
    dispatchRows(
      device,
      plan,
      'attention-dkv',
      (fields) => dkvSource(plan, kvOutputs, fields),
      [dk!, dv!],
      keyRows,
    );
    return [dq!, dk!, dv!].map((s, i) =>
      plan.dtype === 'float16' ? packFloat16(device, s, sizes[i]!) : s,
    );
  });
}
