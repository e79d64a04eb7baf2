import {
  type AttentionAttrs,
  type AttentionDims,
  attentionDims,
  broadcastStrides,
  type DType,
  type KernelContext,
  type Tensor,
} from '@qkv/tensor';
import type { GpuStorage, WebGPUDevice } from '../runtime/webgpu-device.js';
import {
  COMBINE_WGSL,
  ROW_WORKGROUP,
  rowLayoutConstants,
  workgroupReduceFn,
} from '../wgsl/row-reduce.js';
import { type Binding, COMMON_WGSL, declareBindings, loadFns, param } from '../wgsl/shader.js';
import { gpuStorage } from './register.js';

/**
 * What the three attention kernels (fused, split-K decode, materialised weights) share: the
 * inputs bound under fixed names, the parameter words, and the WGSL that turns q·k into a
 * score exactly as the `attention` op's contract orders it (scale, softcap, float mask + bias
 * + ALiBi, then bool and causal masks as -inf).
 *
 * Parameter words: `param(0..KERNEL_WORDS-1)` belong to each kernel; the shared ones follow.
 */
export const KERNEL_WORDS = 4;

const word = (k: number): string => param(KERNEL_WORDS + k);

/** Shared words, in order. */
const W = {
  batch: 0,
  qHeads: 1,
  groupSize: 2,
  queryLength: 3,
  keyCapacity: 4,
  kvLength: 5,
  causalOffset: 6,
  scale: 7,
  softcap: 8,
  kvHeads: 9,
  /** Batch shape words start here; then, per broadcast score operand, its strides. */
  batchShape: 10,
} as const;

/** A float mask or bias read through its broadcast strides over `[B..., Hq, L, S]`. */
type ScoreOperandName = 'mask' | 'bias';

export interface AttentionPlan {
  readonly dims: AttentionDims;
  readonly attrs: AttentionAttrs;
  readonly inputs: readonly (Binding & { readonly storage: GpuStorage })[];
  readonly maskKind: 'none' | 'bool' | 'float';
  /** Score operands with strides, in parameter order. */
  readonly operands: readonly ScoreOperandName[];
  readonly params: readonly number[];
  /** Names every specialisation of the shared WGSL. */
  readonly key: string;
  readonly dtype: DType;
}

const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!;

/** Validate the op's inputs and lay out bindings and parameter words. */
export function planAttention(
  ctx: KernelContext<AttentionAttrs>,
  hasValues: boolean,
): AttentionPlan {
  const { inputs, attrs } = ctx;
  const [q, k] = inputs as [Tensor, Tensor];
  const v = hasValues ? inputs[2]! : undefined;
  const extras = inputs.slice(hasValues ? 3 : 2);
  const where = hasValues ? 'attention' : 'attentionWeights';
  const dims = attentionDims(where, [q, k, v ?? k, ...extras], attrs);
  const bound: (Binding & { storage: GpuStorage })[] = [
    { name: 'q', dtype: q.dtype, storage: gpuStorage(q) },
    { name: 'k', dtype: k.dtype, storage: gpuStorage(k) },
  ];
  if (v) bound.push({ name: 'v', dtype: v.dtype, storage: gpuStorage(v) });
  const nb = dims.batchShape.length;
  const params = [
    dims.batch,
    dims.qHeads,
    dims.groupSize,
    dims.queryLength,
    dims.keyCapacity,
    dims.kvLength,
    dims.causalOffset >>> 0,
    f32Bits(attrs.scale),
    f32Bits(attrs.softcap),
    dims.kvHeads,
    ...dims.batchShape,
  ];
  const operands: ScoreOperandName[] = [];
  let next = 0;
  let maskKind: AttentionPlan['maskKind'] = 'none';
  const addOperand = (name: ScoreOperandName, t: Tensor) => {
    bound.push({ name, dtype: t.dtype, storage: gpuStorage(t) });
    operands.push(name);
    params.push(...broadcastStrides(t.shape, dims.scoreShape));
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
  const key = [
    bound.map((b) => `${b.name}=${b.dtype}`).join(','),
    `nb${nb}`,
    `mask-${maskKind}`,
    `causal${Number(attrs.isCausal)}`,
    `softcap${Number(attrs.softcap > 0)}`,
  ].join(':');
  return { dims, attrs, inputs: bound, maskKind, operands, params, key, dtype: q.dtype };
}

/** `fn <name>_row(b, h, i) -> u32`: the operand's offset of score (b, h, i, 0). */
function operandRowFn(name: string, index: number, nb: number): string {
  const base = W.batchShape + nb + index * (nb + 3);
  const lines = [`fn ${name}_row(b: u32, h: u32, i: u32) -> u32 {`, '  var rem = b;'];
  lines.push(`  var off = h * ${word(base + nb)} + i * ${word(base + nb + 1)};`);
  for (let d = nb - 1; d >= 0; d--) {
    lines.push(
      `  { let dim = ${word(W.batchShape + d)}; off += (rem % dim) * ${word(base + d)}; rem = rem / dim; }`,
    );
  }
  lines.push('  return off;', '}');
  lines.push(
    `fn ${name}_col() -> u32 { return ${word(base + nb + 2)}; }`,
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
export function attentionWgsl(plan: AttentionPlan, outputs: readonly Binding[]): string {
  const { attrs, operands, maskKind } = plan;
  const nb = plan.dims.batchShape.length;
  const fields = [
    'position: i32,',
    ...operands.map((o) => `${o}_row: u32,`),
    ...(attrs.hasAlibi ? ['slope: f32,'] : []),
  ];
  const rowInit = [
    `i32(i) + bitcast<i32>(${word(W.causalOffset)})`,
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
  const softcap = attrs.softcap > 0 ? '  s = cap * tanh_stable(s / cap);\n' : '';
  const operandFns = operands.map((o, index) => operandRowFn(o, index, nb));
  if (maskKind === 'bool') {
    operandFns.push(
      'fn mask_at_u(r: ScoreRow, j: u32) -> u32 { return load_mask(r.mask_row + j * mask_col()); }',
    );
  }
  return [
    declareBindings(plan.inputs, outputs),
    COMMON_WGSL,
    loadFns(plan.inputs.filter((b) => b.name !== 'mask' || maskKind === 'float')),
    maskKind === 'bool' ? 'fn load_mask(i: u32) -> u32 { return mask[i]; }' : '',
    `fn batch_count() -> u32 { return ${word(W.batch)}; }
fn q_heads() -> u32 { return ${word(W.qHeads)}; }
fn kv_heads() -> u32 { return ${word(W.kvHeads)}; }
fn group_size() -> u32 { return ${word(W.groupSize)}; }
fn query_length() -> u32 { return ${word(W.queryLength)}; }
fn key_capacity() -> u32 { return ${word(W.keyCapacity)}; }
fn kv_length() -> u32 { return ${word(W.kvLength)}; }
fn causal_offset() -> i32 { return bitcast<i32>(${word(W.causalOffset)}); }
// tanh from one exp of a non-positive argument, so it cannot overflow to inf / inf.
fn tanh_stable(x: f32) -> f32 { let t = exp(-2.0 * abs(x)); return sign(x) * (1.0 - t) / (1.0 + t); }`,
    ...operandFns,
    `struct ScoreRow { ${fields.join(' ')} }`,
    `fn score_row(b: u32, h: u32, i: u32) -> ScoreRow { return ScoreRow(${rowInit.join(', ')}); }`,
    `fn allowed(r: ScoreRow, j: u32) -> bool { return ${tests.length > 0 ? tests.join(' && ') : 'true'}; }`,
    `fn finish_score(dot: f32, r: ScoreRow, j: u32) -> f32 {
  var s = dot * bitcast<f32>(${word(W.scale)});
  let cap = bitcast<f32>(${word(W.softcap)});
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

/** What every attention kernel starts with: scoring, row coordinates and the causal key end. */
export function attentionPrelude(plan: AttentionPlan, output: string): string {
  return [
    attentionWgsl(plan, [{ name: output, dtype: 'float32' }]),
    ROW_COORDS_WGSL,
    keyEndWgsl(plan.attrs.isCausal),
  ].join('\n');
}

/** The prelude of the one-row-per-workgroup kernels: q in `qs`, `reduce_max` / `reduce_add`. */
export function rowScoringPrelude(plan: AttentionPlan, output: string): string {
  return [
    attentionPrelude(plan, output),
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
 * Launch an attention kernel over `groups` workgroups: the plan's inputs, one float32
 * `output`, its own words (at most KERNEL_WORDS) before the shared ones.
 */
export function dispatchAttention(
  device: WebGPUDevice,
  plan: AttentionPlan,
  launch: {
    readonly key: string;
    readonly source: () => string;
    readonly output: GpuStorage;
    readonly groups: number;
    readonly words: readonly number[];
  },
): void {
  const words = [...launch.words, 0, 0, 0, 0].slice(0, KERNEL_WORDS);
  device.dispatch({
    key: `${launch.key}:${plan.key}`,
    source: launch.source,
    inputs: plan.inputs.map((b) => b.storage),
    outputs: [launch.output],
    params: [launch.groups, ...words, ...plan.params],
    workgroups: launch.groups,
  });
}
