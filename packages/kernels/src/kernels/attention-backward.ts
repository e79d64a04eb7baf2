import type { AttentionAttrs, AttentionDims, KernelContext, Tensor } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import {
  joinParams,
  NO_PARAMS,
  type ParamBlock,
  type ParamFields,
  paramBlock,
  type SpecValue,
} from '../wgsl/params.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import { type Binding, entryPoint } from '../wgsl/shader.js';
import {
  BACKWARD_ROWS,
  backwardTile,
  dkvTiledSource,
  dqTiledSource,
} from './attention-backward-tiled.js';
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
// float atomics are needed). Probabilities are recomputed from the saved log-sum-exp tile by
// tile; nothing of size L x S is ever allocated. The tiled kernels live in
// `attention-backward-tiled.ts`; the per-row kernels here serve head dims whose tiles do not
// fit in the device's workgroup memory.

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

/**
 * `score_grad(p, dp, delta, dot)`: dS_ij · scale = p · (dOut_i · v_j − delta_i) · softcap' ·
 * scale from the pair's probability p, dp = dOut_i · v_j and raw dot = q_i · k_j; every
 * gradient kernel's one definition of it.
 */
function scoreGradWgsl(softcap: boolean): string {
  return `fn score_grad(p: f32, dp: f32, delta: f32, dot: f32) -> f32 {
  var ds = p * (dp - delta) * params.scale;
${softcap ? '  let t = qkv_tanh(dot * params.scale / params.softcap);\n  ds = ds * (1.0 - t * t);\n' : ''}  return ds;
}`;
}

/** Per (query row, key) terms both per-row gradient kernels share, as WGSL. */
function pairWgsl(plan: AttentionPlan): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  return `// p = exp(s - lse) and dS for query row (b, h, i) = flat row \`row\` and key j; p = 0 when
// the key is masked, and a masked key's k and v are never read into p or dS (NaN there
// must not leak).
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
  return Pair(p, score_grad(p, dp, load_delta(row), dot));
}`;
}

/** Per-row dQ: one invocation per query row walks the keys it may see. */
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
  return [gradPrelude(plan, outputs, params), pairWgsl(plan), entryPoint(ROW_WORKGROUP, body)].join(
    '\n',
  );
}

/**
 * Per-row dK and dV: one invocation per key row of each key/value head sums over every query row of
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
  return [gradPrelude(plan, outputs, params), pairWgsl(plan), entryPoint(ROW_WORKGROUP, body)].join(
    '\n',
  );
}

/** Scoring, row coordinates, the causal key end and `score_grad`: every gradient kernel's start. */
function gradPrelude(
  plan: AttentionPlan,
  outputs: readonly Binding[],
  params: ParamFields,
): string {
  return [
    attentionWgsl(plan, outputs, params),
    ROW_COORDS_WGSL,
    keyEndWgsl(plan.attrs.isCausal),
    scoreGradWgsl(plan.attrs.softcap > 0),
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

/** Launch a gradient kernel of `plan` with float32 `outputs` and the shared parameters. */
function dispatchGrad(
  device: WebGPUDevice,
  plan: AttentionPlan,
  launch: {
    readonly kernel: string;
    readonly spec: Readonly<Record<string, SpecValue>>;
    readonly source: (params: ParamFields) => string;
    readonly outputs: readonly GpuStorage[];
    readonly count: number;
    readonly workgroups: number;
    readonly params: ParamBlock;
  },
): void {
  if (launch.count === 0) return;
  const params = joinParams(launch.params, plan.params);
  const { headDim: e, valueDim: ev } = plan.dims;
  device.dispatch({
    kernel: launch.kernel,
    spec: { e, ev, ...launch.spec, ...plan.spec },
    source: () => launch.source(params.fields),
    inputs: plan.inputs.map((b) => b.storage),
    outputs: launch.outputs,
    params,
    count: launch.count,
    workgroups: launch.workgroups,
  });
}

const DQ: Binding[] = [{ name: 'dq', dtype: 'float32' }];
const DKV: Binding[] = [
  { name: 'dk', dtype: 'float32' },
  { name: 'dv', dtype: 'float32' },
];

/**
 * The tiled kernels (`attention-backward-tiled.ts`) with tiles of `tile` rows: one workgroup
 * per (batch, query head, BACKWARD_ROWS query rows) for dQ, one per (batch, kv head,
 * BACKWARD_ROWS keys) for dK/dV.
 */
function runTiled(
  device: WebGPUDevice,
  plan: AttentionPlan,
  tile: number,
  [dq, dk, dv]: readonly GpuStorage[],
): void {
  const { dims } = plan;
  // One workgroup per BACKWARD_ROWS rows of each (batch, head) of `heads`.
  const launch = (
    kernel: string,
    heads: number,
    length: number,
    source: (fields: ParamFields) => string,
    outputs: readonly GpuStorage[],
  ) => {
    const tiles = Math.ceil(length / BACKWARD_ROWS);
    const groups = dims.batch * heads * tiles;
    dispatchGrad(device, plan, {
      kernel,
      spec: { tile },
      source,
      outputs,
      count: groups,
      workgroups: groups,
      params: paramBlock({ tiles: 'u32' }, { tiles }),
    });
  };
  launch(
    'attention-dq-tiled',
    dims.qHeads,
    dims.queryLength,
    (fields) => dqTiledSource(plan, gradPrelude(plan, DQ, fields), tile),
    [dq!],
  );
  launch(
    'attention-dkv-tiled',
    dims.kvHeads,
    dims.keyCapacity,
    (fields) => dkvTiledSource(plan, gradPrelude(plan, DKV, fields), tile),
    [dk!, dv!],
  );
}

/** The per-row kernels: for head dims whose tiles do not fit in workgroup memory. */
function runPerRow(device: WebGPUDevice, plan: AttentionPlan, [dq, dk, dv]: readonly GpuStorage[]) {
  const { dims } = plan;
  const rows = dims.batch * dims.qHeads * dims.queryLength;
  const keyRows = dims.batch * dims.kvHeads * dims.keyCapacity;
  dispatchGrad(device, plan, {
    kernel: 'attention-dq',
    spec: {},
    source: (fields) => dqSource(plan, DQ, fields),
    outputs: [dq!],
    count: rows,
    workgroups: Math.ceil(rows / ROW_WORKGROUP),
    params: NO_PARAMS,
  });
  dispatchGrad(device, plan, {
    kernel: 'attention-dkv',
    spec: {},
    source: (fields) => dkvSource(plan, DKV, fields),
    outputs: [dk!, dv!],
    count: keyRows,
    workgroups: Math.ceil(keyRows / ROW_WORKGROUP),
    params: NO_PARAMS,
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
    const grads = sizes.map((n) => device.allocate('float32', n, 'attentionBackward'));
    // Tiles as large as the device's workgroup memory allows; past it, one row per invocation.
    const limit = device.limits.maxComputeWorkgroupStorageSize;
    const tile = backwardTile(dims.headDim, dims.valueDim, limit);
    if (tile === undefined) runPerRow(device, plan, grads);
    else runTiled(device, plan, tile, grads);
    return grads.map((s, i) => (plan.dtype === 'float16' ? packFloat16(device, s, sizes[i]!) : s));
  });
}
