import type { ValueType } from './shader.js';

/** Invocations that share one row in the row kernels (reductions, softmax, norms). */
export const ROW_WORKGROUP = 64;

/**
 * `fn <name>(v: T, lid: u32) -> T`: combine every invocation's `v` with `combine(a, b)` in
 * workgroup memory (a tree over ROW_WORKGROUP slots) and return the result to all of them.
 * Call it from uniform control flow (every invocation of the workgroup, same row).
 */
export function workgroupReduceFn(name: string, type: ValueType, combine: string): string {
  return /* wgsl */ `
var<workgroup> ${name}_slots: array<${type}, ${ROW_WORKGROUP}>;
fn ${name}(v: ${type}, lid: u32) -> ${type} {
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

/** Combiners of two partial results; the float ones let NaN win, as the CPU backend does. */
export const COMBINE_WGSL = /* wgsl */ `
fn add_f32(a: f32, b: f32) -> f32 { return a + b; }
fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return max(a, b); }
fn min_f32(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return min(a, b); }
`;

/**
 * WGSL locating row `row` of a tensor viewed as `[outer, length, inner]` reduced over the
 * middle axis: `start` of its first element and `stride` between elements.
 */
export const ROW_LOCATION = `
  let length = params[1u];
  let inner = params[2u];
  let start = (row / inner) * length * inner + row % inner;
  let stride = inner;`;
