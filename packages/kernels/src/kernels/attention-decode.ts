import type { DType } from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { type ParamFields, paramBlock } from '../wgsl/params.js';
import { ROW_WORKGROUP } from '../wgsl/row-reduce.js';
import { entryPoint } from '../wgsl/shader.js';
import { type AttentionPlan, dispatchAttention, rowScoringPrelude } from './attention-shader.js';
import { runMap } from './map-kernel.js';

/** Keys one workgroup scores at a time in the decode kernel: one per invocation. */
const CHUNK = ROW_WORKGROUP;
/** Aim for at least this many workgroups in flight (a few per compute unit on large GPUs). */
const TARGET_WORKGROUPS = 512;

/** How the key range of each query row is split: `splits` ranges of `keysPerSplit` keys. */
export function decodeSplits(
  rows: number,
  kvLength: number,
): { splits: number; keysPerSplit: number } {
  const chunks = Math.max(1, Math.ceil(kvLength / CHUNK));
  const wanted = Math.max(1, Math.min(chunks, Math.ceil(TARGET_WORKGROUPS / Math.max(rows, 1))));
  const keysPerSplit = Math.ceil(chunks / wanted) * CHUNK;
  return { splits: Math.max(1, Math.ceil(kvLength / keysPerSplit)), keysPerSplit };
}

/**
 * Split-K decoding (flash-decoding, Dao et al. 2023): workgroup (row, split) scores its range
 * of keys CHUNK at a time (one key per invocation), folds each chunk into a running max m,
 * sum l and accumulator (invocation c owns output columns c, c + CHUNK, ...), and writes the
 * partial (m, l, acc[Ev]) unnormalised. A second kernel combines the partials of a row.
 */
function decodeSource(plan: AttentionPlan, params: ParamFields): string {
  const e = plan.dims.headDim;
  const ev = plan.dims.valueDim;
  const perThread = Math.max(1, Math.ceil(ev / CHUNK));
  const body = `  let total = params.count;
  if (group >= total) { return; }
  let splits = params.splits;
  let per_split = params.keysPerSplit;
  let row = group / splits;
  let split = group % splits;
  let rc = row_coords(row);
  let b = rc.x; let h = rc.y; let i = rc.z;
  load_query(rc.w, i, lid);
  let r = score_row(b, h, i);
  let k_base = kv_base(b, h, ${e}u);
  let v_base = kv_base(b, h, ${ev}u);
  let start = split * per_split;
  let stop = min(start + per_split, key_end(i));
  var m = neg_inf();
  var l = 0.0;
  var acc: array<f32, ${perThread}>;
  for (var c0 = start; c0 < stop; c0 += ${CHUNK}u) {
    let j = c0 + lid;
    var s = neg_inf();
    if (j < stop) { s = key_score(r, k_base, j); }
    // max_f32 keeps a NaN score (a key the row attends): the row must come out NaN.
    let m_new = max_f32(m, reduce_max(s, lid));
    // With m_new = -inf every p and alpha is 0 and nothing changes.
    let p = select(exp(s - m_new), 0.0, s == neg_inf());
    let alpha = select(exp(m - m_new), 0.0, m == neg_inf());
    ps[lid] = p;
    l = l * alpha + reduce_add(p, lid);
    let count = min(${CHUNK}u, stop - c0);
    for (var t = 0u; t < ${perThread}u; t++) {
      let c = lid + t * ${CHUNK}u;
      if (c < ${ev}u) {
        var sum = 0.0;
        // A key of weight 0 (masked) adds nothing, even NaN or inf in its value.
        for (var x = 0u; x < count; x++) {
          if (ps[x] != 0.0) { sum += ps[x] * f32(load_v(v_base + (c0 + x) * ${ev}u + c)); }
        }
        acc[t] = acc[t] * alpha + sum;
      }
    }
    m = m_new;
    workgroupBarrier();
  }
  let base = group * ${ev + 2}u;
  if (lid == 0u) { part[base] = m; part[base + 1u] = l; }
  for (var t = 0u; t < ${perThread}u; t++) {
    let c = lid + t * ${CHUNK}u;
    if (c < ${ev}u) { part[base + 2u + c] = acc[t]; }
  }`;
  return [
    rowScoringPrelude(plan, 'part', params),
    `var<workgroup> ps: array<f32, ${CHUNK}>;`,
    entryPoint(ROW_WORKGROUP, body),
  ].join('\n');
}

/**
 * out[row, c] = Σ_s acc_s[c]·exp(m_s - M) / Σ_s l_s·exp(m_s - M) with M = max_s m_s: the
 * partials rescaled to a common max (zeros when no split saw a key).
 */
const COMBINE_BODY = `  let ev = params.ev;
  let splits = params.splits;
  let row = i / ev;
  let c = i % ev;
  let stride = ev + 2u;
  var top = neg_inf();
  for (var s = 0u; s < splits; s++) {
    let m = load_x0((row * splits + s) * stride);
    if (is_nan(m)) { return nan(); }
    top = max(top, m);
  }
  if (top == neg_inf()) { return 0.0; }
  var l = 0.0;
  var acc = 0.0;
  for (var s = 0u; s < splits; s++) {
    let base = (row * splits + s) * stride;
    let m = load_x0(base);
    let w = select(exp(m - top), 0.0, m == neg_inf());
    l += load_x0(base + 1u) * w;
    acc += load_x0(base + 2u + c) * w;
  }
  return acc / l;`;

/**
 * lse[row] = M + log Σ_s l_s·exp(m_s - M): the row's log-sum-exp from its partials (-inf when
 * no split saw a key).
 */
const LSE_BODY = `  let splits = params.splits;
  let stride = params.ev + 2u;
  var top = neg_inf();
  for (var s = 0u; s < splits; s++) {
    let m = load_x0((i * splits + s) * stride);
    if (is_nan(m)) { return nan(); }
    top = max(top, m);
  }
  if (top == neg_inf()) { return neg_inf(); }
  var l = 0.0;
  for (var s = 0u; s < splits; s++) {
    let base = (i * splits + s) * stride;
    let m = load_x0(base);
    l += load_x0(base + 1u) * select(exp(m - top), 0.0, m == neg_inf());
  }
  return top + log(l);`;

/**
 * Run split-K decoding; returns `[B, Hq, L, Ev]` in `outDType` and, with `withLse`, each row's
 * float32 log-sum-exp `[B, Hq, L]` combined from the same partials.
 */
export function runDecodeAttention(
  device: WebGPUDevice,
  plan: AttentionPlan,
  outDType: DType,
  withLse = false,
): { out: GpuStorage; lse?: GpuStorage } {
  const { dims } = plan;
  const rows = dims.batch * dims.qHeads * dims.queryLength;
  const ev = dims.valueDim;
  const { splits, keysPerSplit } = decodeSplits(rows, dims.kvLength);
  const groups = rows * splits;
  const part = device.allocate('float32', groups * (ev + 2), 'attention');
  if (groups > 0) {
    dispatchAttention(device, plan, {
      kernel: 'attention-decode',
      spec: { e: dims.headDim, ev },
      source: (fields) => decodeSource(plan, fields),
      output: part,
      groups,
      params: paramBlock({ splits: 'u32', keysPerSplit: 'u32' }, { splits, keysPerSplit }),
    });
  }
  const combine = (kernel: string, dtype: DType, body: string, size: number) =>
    runMap(
      device,
      {
        kernel,
        inputs: [{ storage: part, dtype: 'float32' }],
        outDType: dtype,
        params: paramBlock({ ev: 'u32', splits: 'u32' }, { ev, splits }),
        body,
      },
      size,
    );
  const out = combine('attention-combine', outDType, COMBINE_BODY, rows * ev);
  const lse = withLse ? combine('attention-combine-lse', 'float32', LSE_BODY, rows) : undefined;
  device.release(part);
  return { out, lse };
}
