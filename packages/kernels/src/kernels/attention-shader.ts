import {
  type AttentionAttrs,
  type AttentionDims,
  broadcastStrides,
  type DType,
  type KernelContext,
  type Tensor,
  wgslTanh,
} from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import { joinParams, type ParamBlock, type ParamFields, type SpecValue } from '../wgsl/params.js';
import {
  COMBINE_WGSL,
  ROW_WORKGROUP,
  rowLayoutConstants,
  workgroupReduceFn,
} from '../wgsl/row-reduce.js';
import { type Binding, COMMON_WGSL, declareBindings, loadFns } from '../wgsl/shader.js';
import { gpuStorage } from './register.js';

/**
 * What the three attention kernels (fused, split-K decode, materialised weights) share: the
 * inputs bound under fixed names, the shared parameters, and the WGSL that turns q·k into a
 * score exactly as the `attention` op's contract orders it (scale, softcap, float mask + bias
 * + ALiBi, then bool and causal masks as -inf). Each kernel adds its own parameters.
 */

/** A float mask or bias read through its broadcast strides over `[B..., Hq, L, S]`. */
type ScoreOperandName = 'mask' | 'bias';

export interface AttentionPlan {
  readonly dims: AttentionDims;
  readonly attrs: AttentionAttrs;
  readonly inputs: readonly (Binding & { readonly storage: GpuStorage })[];
  readonly maskKind: 'none' | 'bool' | 'float';
  /** Score operands read through broadcast strides (`params.<name>Strides`). */
  readonly operands: readonly ScoreOperandName[];
  readonly params: ParamBlock;
  /** Every specialisation of the shared WGSL besides the parameter layout. */
  readonly spec: Readonly<Record<string, SpecValue>>;
  readonly dtype: DType;
}

/** Lay out bindings and the shared parameters for the dims the op's `infer` derived. */
export function planAttention(
  ctx: KernelContext<AttentionAttrs, AttentionDims>,
  hasValues: boolean,
): AttentionPlan {
  const { inputs, attrs, plan: dims } = ctx;
  const [q, k] = inputs as [Tensor, Tensor];
  const v = hasValues ? inputs[2]! : undefined;
  const extras = inputs.slice(hasValues ? 3 : 2);
  const bound: (Binding & { storage: GpuStorage })[] = [
    { name: 'q', dtype: q.dtype, storage: gpuStorage(q) },
    { name: 'k', dtype: k.dtype, storage: gpuStorage(k) },
  ];
  if (v) bound.push({ name: 'v', dtype: v.dtype, storage: gpuStorage(v) });
  const nb = dims.batchShape.length;
  const fields: Record<string, ParamFields[string]> = {
    batch: 'u32',
    qHeads: 'u32',
    kvHeads: 'u32',
    groupSize: 'u32',
    queryLength: 'u32',
    keyCapacity: 'u32',
    kvLength: 'u32',
    causalOffset: 'i32',
    scale: 'f32',
    softcap: 'f32',
    batchShape: ['u32', nb],
  };
  const values: Record<string, number | readonly number[]> = {
    batch: dims.batch,
    qHeads: dims.qHeads,
    kvHeads: dims.kvHeads,
    groupSize: dims.groupSize,
    queryLength: dims.queryLength,
    keyCapacity: dims.keyCapacity,
    kvLength: dims.kvLength,
    causalOffset: dims.causalOffset,
    scale: attrs.scale,
    softcap: attrs.softcap,
    batchShape: dims.batchShape,
  };
  const operands: ScoreOperandName[] = [];
  let next = 0;
  let maskKind: AttentionPlan['maskKind'] = 'none';
  // Strides over the scores [B..., Hq, L, S]: nb batch strides, then head, row and column.
  const addOperand = (name: ScoreOperandName, t: Tensor) => {
    bound.push({ name, dtype: t.dtype, storage: gpuStorage(t) });
    operands.push(name);
    fields[`${name}Strides`] = ['u32', nb + 3];
    values[`${name}Strides`] = broadcastStrides(t.shape, dims.scoreShape);
  };
  if (attrs.hasMask) {
    const mask = extras[next++]!;
    maskKind = mask.dtype === 'bool' ? 'bool' : 'float';
    addOperand('mask', mask);
  }
  if (attrs.hasBias) addOperand('bias', extras[next++]!);
  if (attrs.hasAlibi) {
    const slopes = extras[next++]!;
    bound.push({ name: 'slopes', dtype: slopes.dtype, storage: gpuStorage(slopes) });
  }
  const spec = {
    inputs: bound.map((b) => `${b.name}=${b.dtype}`),
    mask: maskKind,
    causal: attrs.isCausal,
    softcap: attrs.softcap > 0,
  };
  const params: ParamBlock = { fields, values };
  return { dims, attrs, inputs: bound, maskKind, operands, params, spec, dtype: q.dtype };
}

/** `fn <name>_row(b, h, i) -> u32`: the operand's offset of score (b, h, i, 0). */
function operandRowFn(name: string, nb: number): string {
  const strides = `params.${name}Strides`;
  const lines = [`fn ${name}_row(b: u32, h: u32, i: u32) -> u32 {`, '  var rem = b;'];
  lines.push(`  var off = h * ${strides}[${nb}] + i * ${strides}[${nb + 1}];`);
  for (let d = nb - 1; d >= 0; d--) {
    lines.push(
      `  { let dim = params.batchShape[${d}]; off += (rem % dim) * ${strides}[${d}]; rem = rem / dim; }`,
    );
  }
  lines.push('  return off;', '}');
  lines.push(
    `fn ${name}_col() -> u32 { return ${strides}[${nb + 2}]; }`,
    `fn ${name}_at(r: ScoreRow, j: u32) -> f32 { return f32(load_${name}(r.${name}_row + j * ${name}_col())); }`,
  );
  return lines.join('\n');
}

/**
 * The shared WGSL: bindings (inputs, then `outputs`), loads, dimension accessors, and
 * - `score_row(b, h, i) -> ScoreRow`: what one query row needs to score its keys;
 * - `allowed(r, j)`: key j passes the causal and bool masks (j < kvLength is the caller's);
 * - `finish_score(dot, r, j)`: scale, softcap and the additive terms.
 */
export function attentionWgsl(
  plan: AttentionPlan,
  outputs: readonly Binding[],
  params: ParamFields,
): string {
  const { attrs, operands, maskKind } = plan;
  const nb = plan.dims.batchShape.length;
  const fields = [
    'position: i32,',
    ...operands.map((o) => `${o}_row: u32,`),
    ...(attrs.hasAlibi ? ['slope: f32,'] : []),
  ];
  const rowInit = [
    'i32(i) + params.causalOffset',
    ...operands.map((o) => `${o}_row(b, h, i)`),
    ...(attrs.hasAlibi ? ['f32(load_slopes(h))'] : []),
  ];
  const tests = [
    ...(attrs.isCausal ? ['i32(j) <= r.position'] : []),
    ...(maskKind === 'bool' ? ['mask_at_u(r, j) != 0u'] : []),
  ];
  const additive = [
    ...operands.filter((o) => o !== 'mask' || maskKind === 'float').map((o) => `${o}_at(r, j)`),
    ...(attrs.hasAlibi ? ['-r.slope * abs(f32(r.position - i32(j)))'] : []),
  ];
  const softcap = attrs.softcap > 0 ? '  s = cap * qkv_tanh(s / cap);\n' : '';
  const operandFns = operands.map((o) => operandRowFn(o, nb));
  if (maskKind === 'bool') {
    operandFns.push(
      'fn mask_at_u(r: ScoreRow, j: u32) -> u32 { return load_mask(r.mask_row + j * mask_col()); }',
    );
  }
  return [
    declareBindings(plan.inputs, outputs, params),
    COMMON_WGSL,
    loadFns(plan.inputs.filter((b) => b.name !== 'mask' || maskKind === 'float')),
    maskKind === 'bool' ? 'fn load_mask(i: u32) -> u32 { return mask[i]; }' : '',
    `fn batch_count() -> u32 { return params.batch; }
fn q_heads() -> u32 { return params.qHeads; }
fn kv_heads() -> u32 { return params.kvHeads; }
fn group_size() -> u32 { return params.groupSize; }
fn query_length() -> u32 { return params.queryLength; }
fn key_capacity() -> u32 { return params.keyCapacity; }
fn kv_length() -> u32 { return params.kvLength; }
fn causal_offset() -> i32 { return params.causalOffset; }
${wgslTanh('qkv_tanh')}`,
    ...operandFns,
    `struct ScoreRow { ${fields.join(' ')} }`,
    `fn score_row(b: u32, h: u32, i: u32) -> ScoreRow { return ScoreRow(${rowInit.join(', ')}); }`,
    `fn allowed(r: ScoreRow, j: u32) -> bool { return ${tests.length > 0 ? tests.join(' && ') : 'true'}; }`,
    `fn finish_score(dot: f32, r: ScoreRow, j: u32) -> f32 {
  var s = dot * params.scale;
  let cap = params.softcap;
${softcap}${additive.map((a) => `  s = add_score(s, ${a});\n`).join('')}  return s;
}
// s + t, but -inf on either side stays -inf: a float mask of -inf masks the key whatever q.k
// holds, so NaN in a masked key cannot leak into the row.
fn add_score(s: f32, t: f32) -> f32 { return select(s + t, neg_inf(), s == neg_inf() || t == neg_inf()); }`,
  ].join('\n');
}

/**
 * Row-at-a-time scoring against q held in workgroup memory (`qs`, E floats): the decode and
 * weights kernels score one query row against many keys, one key per invocation.
 */
export function sharedQueryWgsl(headDim: number, workgroup: number): string {
  return `var<workgroup> qs: array<f32, ${Math.max(headDim, 1)}>;
// Copy query row (bh, i) into qs; call from uniform control flow.
fn load_query(bh: u32, i: u32, lid: u32) {
  let base = (bh * query_length() + i) * ${headDim}u;
  for (var c = lid; c < ${headDim}u; c += ${workgroup}u) { qs[c] = f32(load_q(base + c)); }
  workgroupBarrier();
}
// The final score of key j (-inf when masked) for the row in qs; k_base is its kv head's row 0.
fn key_score(r: ScoreRow, k_base: u32, j: u32) -> f32 {
  if (!allowed(r, j)) { return neg_inf(); }
  var d = 0.0;
  let kr = k_base + j * ${headDim}u;
  for (var c = 0u; c < ${headDim}u; c++) { d += qs[c] * f32(load_k(kr + c)); }
  return finish_score(d, r, j);
}`;
}

/** The query row, head and batch of flat row index `row` of `[B, Hq, L]`. */
export const ROW_COORDS_WGSL = `
fn row_coords(row: u32) -> vec4u {
  let i = row % query_length();
  let bh = row / query_length();
  return vec4u(bh / q_heads(), bh % q_heads(), i, bh);
}
// Row 0 of (b, h)'s key/value head in k or v.
fn kv_base(b: u32, h: u32, dim: u32) -> u32 {
  return (b * kv_heads() + h / group_size()) * key_capacity() * dim;
}`;

/** Exclusive end of the keys query row i may see: kvLength, cut at the causal diagonal. */
export function keyEndWgsl(isCausal: boolean): string {
  const body = isCausal
    ? 'return u32(clamp(i32(last_row) + causal_offset() + 1, 0, i32(kv_length())));'
    : 'return kv_length();';
  return `fn key_end(last_row: u32) -> u32 { ${body} }`;
}

/**
 * WGSL statements opening a kernel whose workgroups each own `rows` query rows of one (batch,
 * query head), `params.tiles` workgroups a head: `tile`, `bh`, `b`, `h`, `length`, the
 * invocation's row `i`, `row_ok` (i < length) and `ii` (i clamped into the head).
 */
export function queryTileWgsl(rows: number): string {
  return `  if (group >= params.count) { return; }
  let tiles = params.tiles;
  let tile = group % tiles;
  let bh = group / tiles;
  let b = bh / q_heads();
  let h = bh % q_heads();
  let length = query_length();
  let i = tile * ${rows}u + lid;
  let row_ok = i < length;
  let ii = min(i, length - 1u);`;
}

/**
 * What every attention kernel starts with: scoring, row coordinates and the causal key end.
 * `outputs` names the kernel's float32 outputs, bound in order.
 */
export function attentionPrelude(
  plan: AttentionPlan,
  outputs: string | readonly string[],
  params: ParamFields,
): string {
  const names = typeof outputs === 'string' ? [outputs] : outputs;
  return [
    attentionWgsl(
      plan,
      names.map((name) => ({ name, dtype: 'float32' })),
      params,
    ),
    ROW_COORDS_WGSL,
    keyEndWgsl(plan.attrs.isCausal),
  ].join('\n');
}

/** The prelude of the one-row-per-workgroup kernels: q in `qs`, `reduce_max` / `reduce_add`. */
export function rowScoringPrelude(
  plan: AttentionPlan,
  output: string,
  params: ParamFields,
): string {
  return [
    attentionPrelude(plan, output, params),
    sharedQueryWgsl(plan.dims.headDim, ROW_WORKGROUP),
    COMBINE_WGSL,
    rowLayoutConstants(false),
    // The workgroup-tree reduction: the subgroup variant needs subgroup builtins on the entry
    // point, which the attention row kernels do not declare.
    workgroupReduceFn('reduce_max', 'f32', 'max_f32', false),
    workgroupReduceFn('reduce_add', 'f32', 'add_f32', false),
  ].join('\n');
}

/**
 * Launch an attention kernel over `groups` workgroups (`params.count`): the plan's inputs, its
 * float32 `output` (or several, in binding order), the kernel's own parameters beside the
 * shared ones; `source` receives the joined fields to declare.
 */
export function dispatchAttention(
  device: WebGPUDevice,
  plan: AttentionPlan,
  launch: {
    readonly kernel: string;
    readonly spec: Readonly<Record<string, SpecValue>>;
    readonly source: (params: ParamFields) => string;
    readonly output: GpuStorage | readonly GpuStorage[];
    readonly groups: number;
    readonly params: ParamBlock;
  },
): void {
  const params = joinParams(launch.params, plan.params);
  device.dispatch({
    kernel: launch.kernel,
    spec: { ...launch.spec, ...plan.spec },
    source: () => launch.source(params.fields),
    inputs: plan.inputs.map((b) => b.storage),
    outputs: Array.isArray(launch.output) ? launch.output : [launch.output],
    params,
    count: launch.groups,
    workgroups: launch.groups,
  });
}
