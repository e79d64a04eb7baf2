import type { ValueType } from './shader.js';

/** Invocations that share one row in the row kernels (reductions, softmax, norms). */
export const ROW_WORKGROUP = 64;

/**
 * `fn <name>(v: T, lid: u32) -> T`: combine every invocation's `v` with `combine(a, b)` and
 * return the result to all of them. Call it from uniform control flow (every invocation of
 * the workgroup, same row). Without subgroups: a tree over ROW_WORKGROUP slots of workgroup
 * memory, a barrier per level. With subgroups: a butterfly of `subgroupShuffleXor` inside each
 * subgroup (any combiner, NaN rules included), one slot per subgroup (`subgroup_id`), and a
 * short serial pass over those slots; subgroups wider than the workgroup use the tree.
 */
export function workgroupReduceFn(
  name: string,
  type: ValueType,
  combine: string,
  subgroups = false,
): string {
  const subgroupPath = subgroups
    ? `
  // workgroupUniformLoad: branching on the size must be provably uniform around barriers.
  let size = workgroupUniformLoad(&sg_size);
  if (size <= ${ROW_WORKGROUP}u) {
    var r = v;
    for (var o = size >> 1u; o > 0u; o = o >> 1u) { r = ${combine}(r, subgroupShuffleXor(r, o)); }
    if (sg_lane == 0u) { ${name}_slots[sg_id] = r; }
    workgroupBarrier();
    var total = ${name}_slots[0];
    for (var i = 1u; i < ${ROW_WORKGROUP}u / size; i++) { total = ${combine}(total, ${name}_slots[i]); }
    workgroupBarrier();
    return total;
  }`
    : '';
  return /* wgsl */ `
var<workgroup> ${name}_slots: array<${type}, ${ROW_WORKGROUP}>;
fn ${name}(v: ${type}, lid: u32) -> ${type} {
  if (SERIAL) { return v; }${subgroupPath}
  ${name}_slots[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { ${name}_slots[lid] = ${combine}(${name}_slots[lid], ${name}_slots[lid + s]); }
    workgroupBarrier();
  }
  let result = ${name}_slots[0];
  workgroupBarrier();
  return result;
}`;
}

/** Subgroup builtins of the entry point, kept where `workgroupReduceFn` code can read them. */
export const SUBGROUP_STATE = /* wgsl */ `
var<private> sg_lane: u32;
var<private> sg_id: u32;
var<workgroup> sg_size: u32;`;

export const SUBGROUP_PARAMS =
  '@builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32, @builtin(subgroup_id) subgroup: u32';

export const SUBGROUP_INIT =
  '  sg_lane = lane;\n  sg_id = subgroup;\n  if (lid == 0u) { sg_size = size; }';

/** Combiners of two partial results; the float ones let NaN win, as the CPU backend does. */
export const COMBINE_WGSL = /* wgsl */ `
fn add_f32(a: f32, b: f32) -> f32 { return a + b; }
fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return max(a, b); }
fn min_f32(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return min(a, b); }
`;

/**
 * Row kernels run in one of two layouts, fixed per pipeline by WGSL constants: a workgroup
 * per row (invocations stride the row by ROW_STRIDE and combine through workgroup memory),
 * or, for short rows, an invocation per row (`SERIAL`: stride 1, combining is the identity),
 * which avoids idle invocations and barriers when there are many short rows.
 */
export function rowLayoutConstants(serial: boolean): string {
  return `const SERIAL = ${serial};\nconst ROW_STRIDE = ${serial ? 1 : ROW_WORKGROUP}u;`;
}

/**
 * WGSL locating row `row` of a tensor viewed as `[outer, length, inner]` reduced over the
 * middle axis (the parameters `length` and `inner`): `start` of its first element and
 * `stride` between elements.
 */
export const ROW_LOCATION = `
  let length = params.length;
  let inner = params.inner;
  let start = (row / inner) * length * inner + row % inner;
  let stride = inner;`;
